/** The enrich stage: LLM, MCP, database and gRPC metering, then any enricher given. */

export { BUILTIN_ENRICHERS, builtinEnrichers } from './builtin.ts';
export type { Enricher, EnricherContext, EnricherFactory } from './enricher.ts';
export { createEnrichStage, type EnrichOptions } from './stage.ts';
