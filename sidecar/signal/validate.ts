/**
 * The published JSON Schema of signals (schemas/signal.schema.json) compiled with ajv, for
 * tests and for anyone who wants to check a stream of signals. Properties set to undefined
 * count as absent, exactly as JSON.stringify prints them.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { packagePath } from '../../lib/package-root.ts';

/**
 * Where the published schema is: schemas/ under the package root, found from there rather
 * than from this module so that source and dist/ read the same file. Resolved on first use:
 * the sidecar imports this module but only tests validate.
 */
export function signalSchemaUrl(): URL {
  return pathToFileURL(packagePath('schemas', 'signal.schema.json'));
}

// RFC 3339 date-time with a zone (ajv-formats is not a dependency; this is the one format used).
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled === undefined) {
    const schema = JSON.parse(readFileSync(signalSchemaUrl(), 'utf8')) as object;
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    ajv.addFormat('date-time', {
      type: 'string',
      validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)),
    });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

export interface SignalValidation {
  valid: boolean;
  /** One line per problem, `/path: message`. */
  errors: string[];
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map(
    (e) =>
      `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}

/** Checks one signal (an object or one parsed NDJSON line) against the published schema. */
export function validateSignal(signal: unknown): SignalValidation {
  const validate = validator();
  const valid = validate(signal);
  return { valid, errors: valid ? [] : describe(validate.errors) };
}
