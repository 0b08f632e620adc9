/**
 * LLM and MCP metering into the metrics the catalogue declares: `axom_llm_tokens_total` for
 * metering and billing, the OpenTelemetry GenAI client histograms, time to first token,
 * errors, rate-limit headroom and MCP tool calls. Model names come from traffic, so their
 * number is capped; the rest are counted as `other`.
 */
import type { Registry } from 'prom-client';
import { LLM_METRICS, MCP_METRICS } from '../metrics/catalogue.ts';
import { counter, gauge, histogram } from '../metrics/instruments.ts';
import { labelLimiter } from '../metrics/labels.ts';
import type { McpInfo } from '../signal/types.ts';
import type { LlmUsage, RateLimit } from './types.ts';

export const DEFAULT_MAX_MODELS = 200;

export interface LlmMetrics {
  /** One LLM call; `durationSeconds` from the first request byte to the last response byte. */
  observe(usage: LlmUsage, durationSeconds: number): void;
  /** One MCP request; `error` is the JSON-RPC error code, or 'tool' for a tool result with isError. */
  observeMcp(mcp: McpInfo, error?: number | 'tool'): void;
}

const RATE_LIMIT_KINDS: ReadonlyArray<[keyof RateLimit, string]> = [
  ['remainingRequests', 'requests'],
  ['remainingTokens', 'tokens'],
  ['remainingInputTokens', 'input_tokens'],
  ['remainingOutputTokens', 'output_tokens'],
];

export function registerLlmMetrics(registry: Registry, options: { maxModels?: number } = {}): LlmMetrics {
  const model = labelLimiter(options.maxModels ?? DEFAULT_MAX_MODELS);
  const tool = labelLimiter(options.maxModels ?? DEFAULT_MAX_MODELS);
  const method = labelLimiter(64);
  const errorTypes = labelLimiter(32);
  const tokens = counter(registry, LLM_METRICS.tokens);
  const requests = counter(registry, LLM_METRICS.requests);
  const tokenUsage = histogram(registry, LLM_METRICS.tokenUsage);
  const duration = histogram(registry, LLM_METRICS.operationDuration);
  const ttft = histogram(registry, LLM_METRICS.timeToFirstToken);
  const remaining = gauge(registry, LLM_METRICS.rateLimitRemaining);
  const mcpCalls = counter(registry, MCP_METRICS.toolCalls);
  const mcpRequests = counter(registry, MCP_METRICS.requests);

  return {
    observe(u, durationSeconds) {
      const m = model(u.model);
      const provider = u.provider;
      const add = (type: string, n: number | undefined) => {
        if (n !== undefined && n > 0) tokens.inc({ provider, model: m, type }, n);
      };
      add('input', u.inputTokens);
      add('output', u.outputTokens);
      add('cached_input', u.cachedInputTokens);
      add('cache_creation', u.cacheCreationTokens);
      add('reasoning', u.reasoningTokens);
      const operation = u.operation ?? 'chat';
      // The provider's error type is traffic too: capped like models (no error stays '').
      const errorType = u.error?.type === undefined ? '' : errorTypes(u.error.type);
      requests.inc({
        provider,
        model: m,
        operation,
        stream: u.stream === true ? 'true' : 'false',
        error_type: errorType,
      });
      const g = {
        gen_ai_provider_name: provider,
        gen_ai_system: provider,
        gen_ai_operation_name: operation,
        gen_ai_request_model: m,
        gen_ai_response_model: model(u.responseModel ?? u.model),
      };
      if (u.inputTokens !== undefined)
        tokenUsage.observe({ ...g, gen_ai_token_type: 'input' }, u.inputTokens);
      if (u.outputTokens !== undefined)
        tokenUsage.observe({ ...g, gen_ai_token_type: 'output' }, u.outputTokens);
      if (durationSeconds >= 0) duration.observe({ ...g, error_type: errorType }, durationSeconds);
      if (u.timeToFirstTokenMs !== undefined) {
        ttft.observe({ provider, model: m, operation }, u.timeToFirstTokenMs / 1000);
      }
      const rl = u.rateLimit;
      if (rl !== undefined) {
        for (const [field, kind] of RATE_LIMIT_KINDS) {
          const v = rl[field];
          if (v !== undefined) remaining.set({ provider, model: m, kind }, v);
        }
      }
    },
    observeMcp(mcp, error) {
      const result = error === undefined ? 'ok' : error === 'tool' ? 'tool_error' : 'error';
      mcpRequests.inc({ method: method(mcp.method), result });
      if (mcp.method === 'tools/call') mcpCalls.inc({ tool: tool(mcp.tool), result });
    },
  };
}
