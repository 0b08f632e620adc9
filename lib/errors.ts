/**
 * Every error the project raises on purpose lives here: one class per failure, each with
 * a stable `code` (AXOM_<AREA>_<WHAT>) that logs, metrics and tests key on, and a message
 * written for the person reading it. Parser errors also carry the protocol's own code.
 *
 * Add a class to the section of the module it belongs to; never reuse a code for a
 * different meaning.
 */

export class AxomError extends Error {
  override name = 'AxomError';
  readonly code: string = 'AXOM_ERR';
}

// --- command line ----------------------------------------------------------------------

/** A bad flag or flag value; the CLI prints the message on one line and exits 2. */
export class UsageError extends AxomError {
  override name = 'UsageError';
  override readonly code = 'AXOM_CLI_USAGE';
}

// --- policy and rules ------------------------------------------------------------------

export interface PolicyIssue {
  /** JSON path of the offending field, e.g. `spec.rules[0].match.path`. */
  path: string;
  message: string;
}

/** A policy spec or rules.yaml that fails the schema or a semantic check. */
export class PolicyInvalidError extends AxomError {
  override name = 'PolicyInvalidError';
  override readonly code = 'AXOM_POLICY_INVALID';
  readonly issues: readonly PolicyIssue[];
  constructor(issues: readonly PolicyIssue[], what = 'policy') {
    super(`invalid ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** rules.yaml cannot be read or is not YAML at all. */
export class RulesFileError extends AxomError {
  override name = 'RulesFileError';
  override readonly code = 'AXOM_RULES_FILE';
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super(`cannot load rules file ${file}: ${reason}`, options);
  }
}

// --- admission webhook ------------------------------------------------------------------

/** A request to an admission endpoint that is not a usable AdmissionReview (answered 400). */
export class AdmissionRequestError extends AxomError {
  override name = 'AdmissionRequestError';
  override readonly code = 'AXOM_ADMISSION_BAD_REQUEST';
}

// --- operator -----------------------------------------------------------------------------

export class CertificateError extends AxomError {
  override name = 'CertificateError';
  override readonly code = 'AXOM_CERT';
}

/**
 * A Kubernetes API call that failed. `statusCode` is the HTTP status (undefined when the
 * server could not be reached) and `reason` the Status reason (`NotFound`, `Conflict`,
 * `AlreadyExists`, `Expired`, ...), so callers branch on those, never on the message.
 */
export class KubeApiError extends AxomError {
  override name = 'KubeApiError';
  override readonly code = 'AXOM_KUBE_API';
  readonly statusCode: number | undefined;
  readonly reason: string;
  constructor(message: string, statusCode: number | undefined, reason: string, options?: ErrorOptions) {
    super(message, options);
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

/** The work queue is full; the key was dropped (and counted) and a later resync brings it back. */
export class QueueFullError extends AxomError {
  override name = 'QueueFullError';
  override readonly code = 'AXOM_OPERATOR_QUEUE_FULL';
}

// --- sidecar: capture and parsers -------------------------------------------------------

export class CaptureError extends AxomError {
  override name = 'CaptureError';
  override readonly code = 'AXOM_CAPTURE';
}

/**
 * Malformed traffic. `protocol` names the parser and `protocolCode` carries the protocol's
 * own error code where it has one (an HTTP/2 error code, a SQLSTATE, a MySQL errno...).
 */
export class ParseError extends AxomError {
  override name = 'ParseError';
  override readonly code: string = 'AXOM_PARSE';
  readonly protocol: string;
  readonly protocolCode: string | number | undefined;
  constructor(protocol: string, message: string, protocolCode?: string | number) {
    super(`${protocol}: ${message}`);
    this.protocol = protocol;
    this.protocolCode = protocolCode;
  }
}

// --- sidecar: export -----------------------------------------------------------------------

export class ExportError extends AxomError {
  override name = 'ExportError';
  override readonly code = 'AXOM_EXPORT';
  readonly statusCode: number | undefined;
  constructor(message: string, statusCode?: number, options?: ErrorOptions) {
    super(message, options);
    this.statusCode = statusCode;
  }
}

// --- packaging -------------------------------------------------------------------------------

/** A file the package ships (a schema, a native addon) is not where the package root says. */
export class PackageLayoutError extends AxomError {
  override name = 'PackageLayoutError';
  override readonly code = 'AXOM_PACKAGE_LAYOUT';
}

// --- test harness ---------------------------------------------------------------------------

/** A prerequisite of an integration test is missing: a failure, never a skip. */
export class PrerequisiteError extends AxomError {
  override name = 'PrerequisiteError';
  override readonly code = 'AXOM_TEST_PREREQUISITE';
}
