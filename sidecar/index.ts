/**
 * The sidecar: `runSidecar(options)` composes capture, pipeline, enrichers, rules,
 * redaction, Prometheus and the outputs. `axom-observer sidecar` (command.ts) is its CLI.
 */

export type { Enricher, EnricherContext, EnricherFactory } from './enrich/index.ts';
export { builtinEnrichers } from './enrich/index.ts';
export type { Sidecar, SidecarOptions } from './run.ts';
export { localAddresses, runSidecar } from './run.ts';
export { boundContent } from './signal/index.ts';
