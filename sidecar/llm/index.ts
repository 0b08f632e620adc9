/**
 * Built-in LLM usage extraction (on by default, each provider switchable in the policy's
 * `llm.providers`). `llmEnricher(rules)` fills a signal's `llm` object from an HTTP
 * transaction, puts rate-limit headroom into `signal.metrics` and feeds the LLM metrics.
 */
import type { RulesFile } from '../../lib/policy/types.ts';
import type { ConnectionInfo, Transaction } from '../protocols/types.ts';
import type { LlmInfo, TransactionSignal } from '../signal/types.ts';
import { extractLlm, type LlmExtractOptions } from './extract.ts';
import type { LlmMetrics } from './metrics.ts';
import { RATE_LIMIT_METRIC } from './ratelimit.ts';
import type { LlmUsage, RateLimit } from './types.ts';

export { decodeEventStream, encodeEventStreamMessage } from './eventstream.ts';
export { extractLlm, type LlmExtractOptions, routeOf } from './extract.ts';
export { type LlmMetrics, registerLlmMetrics } from './metrics.ts';
export type { LlmError, LlmUsage, RateLimit } from './types.ts';

export type Enricher = (tx: Transaction, conn: ConnectionInfo, signal: TransactionSignal) => void;

export interface LlmEnricherOptions {
  metrics?: LlmMetrics;
  maxContentChars?: number;
  /** Receives prompt/completion text when the policy opts in (llm.captureContent). */
  onContent?: (signal: TransactionSignal, content: NonNullable<LlmUsage['content']>) => void;
}

/** The contract's `llm` object: only the fields that apply, in a fixed order. */
export function toLlmInfo(u: LlmUsage): LlmInfo {
  const info: LlmInfo = { provider: u.provider };
  if (u.operation !== undefined) info.operation = u.operation;
  if (u.model !== undefined) info.model = u.model;
  if (u.stream !== undefined) info.stream = u.stream;
  if (u.inputTokens !== undefined) info.inputTokens = u.inputTokens;
  if (u.outputTokens !== undefined) info.outputTokens = u.outputTokens;
  if (u.cachedInputTokens !== undefined) info.cachedInputTokens = u.cachedInputTokens;
  if (u.reasoningTokens !== undefined) info.reasoningTokens = u.reasoningTokens;
  if (u.toolCalls !== undefined) info.toolCalls = u.toolCalls;
  if (u.finishReason !== undefined) info.finishReason = u.finishReason;
  if (u.timeToFirstTokenMs !== undefined)
    info.timeToFirstTokenMs = Math.round(u.timeToFirstTokenMs * 1000) / 1000;
  return info;
}

export function llmEnricher(rules: Pick<RulesFile, 'llm'>, options: LlmEnricherOptions = {}): Enricher {
  const spec = rules.llm;
  return (tx, conn, signal) => {
    if (!spec.enabled || tx.http === undefined) return;
    const opts: LlmExtractOptions = { spec };
    if (conn.tls?.sni !== undefined) opts.sni = conn.tls.sni;
    if (options.maxContentChars !== undefined) opts.maxContentChars = options.maxContentChars;
    const usage = extractLlm(tx, opts);
    if (usage === undefined) return;
    signal.llm = toLlmInfo(usage);
    const rl = usage.rateLimit;
    if (rl !== undefined) {
      signal.metrics ??= {};
      for (const key of Object.keys(rl) as Array<keyof RateLimit>) {
        const v = rl[key];
        if (v !== undefined) signal.metrics[RATE_LIMIT_METRIC[key]] = v;
      }
    }
    if (usage.error !== undefined) {
      // An error inside a 200 stream is invisible to status-based outcomes; say so here.
      signal.metrics ??= {};
      signal.metrics.llm_error = 1;
      if (usage.error.inStream) signal.outcome = 'failure';
    }
    if (spec.captureContent && usage.content !== undefined) options.onContent?.(signal, usage.content);
    options.metrics?.observe(usage, Math.max(0, tx.endMs - tx.startMs) / 1000);
  };
}
