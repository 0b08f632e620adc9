/**
 * The built-in enrichers, in the order they run. rules.yaml `llm` (enabled, providers, mcp,
 * captureContent) is read per transaction, so a reload switches them. A new enricher (cost,
 * conversations) is one more entry here, with its metrics in the catalogue.
 */
import type { RulesFile } from '../../lib/policy/types.ts';
import { llmEnricher, registerLlmMetrics } from '../llm/index.ts';
import { mcpEnricher } from '../mcp/index.ts';
import { registerGrpcMetrics } from '../protocols/grpc/index.ts';
import { registerDbMetrics } from '../protocols/sql/index.ts';
import { boundContent } from '../signal/index.ts';
import type { LlmContent, TransactionSignal } from '../signal/types.ts';
import type { Enricher, EnricherContext, EnricherFactory } from './enricher.ts';

/** LLM usage: `signal.llm`, rate-limit headroom, tokens and latency metrics; content when opted in. */
const llm: EnricherFactory = (ctx) => {
  const metrics = registerLlmMetrics(ctx.registry);
  return followRules(ctx, (rules) => llmEnricher(rules, { metrics, onContent: keepContent }));
};

/** MCP over Streamable HTTP: `signal.mcp`, JSON-RPC errors, tool call metrics. */
const mcp: EnricherFactory = (ctx) => {
  const metrics = registerLlmMetrics(ctx.registry);
  return followRules(ctx, (rules) => mcpEnricher(rules, { metrics }));
};

/** Database metrics with normalized statement labels (the signal already carries `db`). */
const database: EnricherFactory = (ctx) => {
  const metrics = registerDbMetrics(ctx.registry);
  return (tx) => {
    if (tx.db !== undefined) metrics.observe(tx);
  };
};

/** gRPC metrics by service and method (the signal already carries `grpc`). */
const grpc: EnricherFactory = (ctx) => {
  const metrics = registerGrpcMetrics(ctx.registry);
  return (tx) => {
    if (tx.grpc !== undefined) metrics.observe(tx);
  };
};

export const BUILTIN_ENRICHERS: readonly EnricherFactory[] = [llm, mcp, database, grpc];

/** The built-in enrichers, built for `ctx`. */
export function builtinEnrichers(ctx: EnricherContext): Enricher[] {
  return BUILTIN_ENRICHERS.map((make) => make(ctx));
}

/** An enricher made from the rules in force, made again when a reload replaces them. */
function followRules(ctx: EnricherContext, make: (rules: RulesFile) => Enricher): Enricher {
  let rules: RulesFile | undefined;
  let current: Enricher = () => {};
  return (tx, conn, signal) => {
    const r = ctx.rules();
    if (r !== rules) {
      rules = r;
      current = make(r);
    }
    current(tx, conn, signal);
  };
}

/** Prompt and completion, bounded; redaction comes later, with the rest of the signal. */
function keepContent(signal: TransactionSignal, content: LlmContent): void {
  if (signal.llm === undefined) return;
  const bounded: LlmContent = {};
  if (content.prompt !== undefined) bounded.prompt = content.prompt;
  if (content.completion !== undefined) bounded.completion = content.completion;
  signal.llm.content = boundContent(bounded);
}
