/**
 * AdmissionReview v1 in and out: checks that a request body is a usable review (anything
 * else is an AdmissionRequestError, answered 400 with its message) and builds responses,
 * which always carry the request's uid.
 */
import { AdmissionRequestError } from '../lib/errors.ts';
import type { JsonPatchOp } from './jsonpatch.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  operation: string;
  namespace?: string;
  name?: string;
  dryRun?: boolean;
  object: Record<string, unknown>;
  userInfo?: { username?: string };
}

export interface AdmissionStatus {
  code?: number;
  reason?: string;
  message?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
  status?: AdmissionStatus;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(message: string): never {
  throw new AdmissionRequestError(message);
}

/**
 * Returns the review's request when it is an admission.k8s.io/v1 AdmissionReview for
 * `expectedKind`; throws AdmissionRequestError naming the first thing wrong otherwise.
 * `object` may be absent only for DELETE, which these webhooks never mutate.
 */
export function parseAdmissionReview(body: unknown, expectedKind: string): AdmissionRequest {
  if (!isRecord(body)) fail('body must be a JSON object (an AdmissionReview)');
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    fail(`apiVersion must be ${ADMISSION_API_VERSION}, got ${JSON.stringify(body.apiVersion ?? null)}`);
  }
  if (body.kind !== ADMISSION_KIND)
    fail(`kind must be ${ADMISSION_KIND}, got ${JSON.stringify(body.kind ?? null)}`);
  const req = body.request;
  if (!isRecord(req)) fail('request is missing');
  if (typeof req.uid !== 'string' || req.uid === '') fail('request.uid is missing');
  const kind = req.kind;
  if (!isRecord(kind) || typeof kind.kind !== 'string') fail('request.kind is missing');
  if (kind.kind !== expectedKind)
    fail(`request.kind.kind must be ${expectedKind}, got ${JSON.stringify(kind.kind)}`);
  if (typeof req.operation !== 'string') fail('request.operation is missing');
  if (req.namespace !== undefined && typeof req.namespace !== 'string')
    fail('request.namespace must be a string');
  const object = req.object;
  if (req.operation !== 'DELETE') {
    if (!isRecord(object)) fail('request.object is missing');
    if (object.kind !== undefined && object.kind !== expectedKind) {
      fail(`request.object.kind must be ${expectedKind}, got ${JSON.stringify(object.kind)}`);
    }
  }
  return {
    uid: req.uid,
    kind: { group: String(kind.group ?? ''), version: String(kind.version ?? ''), kind: kind.kind },
    operation: req.operation,
    namespace: req.namespace as string | undefined,
    name: typeof req.name === 'string' ? req.name : undefined,
    dryRun: req.dryRun === true,
    object: isRecord(object) ? object : {},
    userInfo: isRecord(req.userInfo) ? (req.userInfo as { username?: string }) : undefined,
  };
}

/** The API server shows each warning to the user; keep them short and few. */
const MAX_WARNINGS = 8;
const MAX_WARNING_LENGTH = 240;
function boundWarnings(warnings: readonly string[]): string[] | undefined {
  if (warnings.length === 0) return undefined;
  return warnings
    .slice(0, MAX_WARNINGS)
    .map((w) => (w.length > MAX_WARNING_LENGTH ? `${w.slice(0, MAX_WARNING_LENGTH - 1)}…` : w));
}

export function review(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

export function allow(
  uid: string,
  patch?: readonly JsonPatchOp[],
  warnings: readonly string[] = [],
): AdmissionResponse {
  const response: AdmissionResponse = { uid, allowed: true };
  if (patch && patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  const w = boundWarnings(warnings);
  if (w) response.warnings = w;
  return response;
}

export function deny(uid: string, message: string, code = 422, reason = 'Invalid'): AdmissionResponse {
  return { uid, allowed: false, status: { code, reason, message } };
}
