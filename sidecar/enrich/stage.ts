/**
 * The enrich stage: after a transaction has become a signal and before the rules see it,
 * each enricher adds what only it knows (LLM usage, MCP calls, database and gRPC metrics,
 * and later cost or conversation). Enrichers run in order, so one may read what an earlier
 * one added; one that throws costs a count, never the signal.
 */
import { bindReading, ENRICH_METRICS } from '../metrics/index.ts';
import { BUILTIN_ENRICHERS } from './builtin.ts';
import type { Enricher, EnricherContext, EnricherFactory } from './enricher.ts';

export interface EnrichOptions {
  /** The built-in LLM, MCP, database and gRPC enrichers (BUILTIN_ENRICHERS); default true. */
  builtinEnrichers?: boolean;
  /** Enrichers that need the rules, the registry or the logger; run after the built-in ones. */
  enricherFactories?: readonly EnricherFactory[];
  /** Run last. */
  enrichers?: readonly Enricher[];
}

export function createEnrichStage(ctx: EnricherContext, options: EnrichOptions = {}): Enricher {
  const factories = [
    ...(options.builtinEnrichers === false ? [] : BUILTIN_ENRICHERS),
    ...(options.enricherFactories ?? []),
  ];
  const enrichers = [...factories.map((make) => make(ctx)), ...(options.enrichers ?? [])];
  let errors = 0;
  bindReading(ctx.registry, ENRICH_METRICS.errors, () => errors);
  return (tx, conn, signal) => {
    for (const enrich of enrichers) {
      try {
        enrich(tx, conn, signal);
      } catch (err) {
        if (errors++ === 0) ctx.log.error({ err: (err as Error).message }, 'enricher failed');
      }
    }
  };
}
