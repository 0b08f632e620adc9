/**
 * The sidecar: `runSidecar(options)` composes capture, pipeline, enrichers, rules,
 * redaction, Prometheus and the outputs. `axom-observer sidecar` (command.ts) is its CLI.
 */

export type { Enricher, EnricherContext, EnricherFactory, Sidecar, SidecarOptions } from './run.ts';
export { boundContent, builtinEnrichers, localAddresses, runSidecar } from './run.ts';
