/**
 * The sidecar: `runSidecar(options)` wires the stages (capture → pipeline → enrich → rules →
 * redact → sinks). `axom-observer sidecar` (command.ts) is its CLI.
 */

export { localAddresses } from './config/index.ts';
export type { Enricher, EnricherContext, EnricherFactory } from './enrich/index.ts';
export { builtinEnrichers } from './enrich/index.ts';
export type { Sidecar, SidecarOptions } from './run.ts';
export { runSidecar } from './run.ts';
export { boundContent } from './signal/index.ts';
export type { Sink, SinkStats } from './sinks/index.ts';
