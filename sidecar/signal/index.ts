/** Signals: the sidecar's output contract, how one is built, and its published schema. */

export type { SignalContext } from './builder.ts';
export {
  buildSystemSignal,
  buildTransactionSignal,
  hostWithoutPort,
  newSignalId,
  rfc3339,
} from './builder.ts';
export { boundContent, truncateUtf8 } from './content.ts';
export type * from './types.ts';
export type { SignalValidation } from './validate.ts';
export { signalSchemaUrl, validateSignal } from './validate.ts';
