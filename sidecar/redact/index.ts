/** Redaction of everything that leaves the sidecar: signals, bodies, exports and logs. */
export { BUILTIN_HEADERS, BUILTIN_JSON_FIELDS, REDACTED } from './builtins.ts';
export type { RedactionConfig, Redactor } from './redactor.ts';
export { createRedactor } from './redactor.ts';
export { type RedactSignal, redactStage } from './stage.ts';
export { redactingStream } from './stream.ts';
