/**
 * LLM and MCP metrics: `axom_llm_tokens_total` for metering and billing, the OpenTelemetry
 * GenAI client histograms under their Prometheus names with the buckets the semantic
 * conventions recommend, time to first token, errors, rate-limit headroom and MCP tool calls.
 * Model names come from traffic, so their number is capped; the rest are counted as `other`.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { labelLimiter } from '../metrics/labels.ts';
import type { McpInfo } from '../signal/types.ts';
import type { LlmUsage, RateLimit } from './types.ts';

/** gen_ai.client.token.usage recommended buckets (OpenTelemetry GenAI metrics). */
export const TOKEN_USAGE_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
/** gen_ai.client.operation.duration recommended buckets, seconds. */
export const OPERATION_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** gen_ai.server.time_to_first_token recommended buckets, seconds. */
export const TIME_TO_FIRST_TOKEN_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

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
  const registers = [registry];
  const model = labelLimiter(options.maxModels ?? DEFAULT_MAX_MODELS);
  const tool = labelLimiter(options.maxModels ?? DEFAULT_MAX_MODELS);
  const method = labelLimiter(64);
  const errorTypes = labelLimiter(32);
  const tokens = new Counter({
    name: 'axom_llm_tokens_total',
    help: 'LLM tokens by provider, model and type (input, output, cached_input, cache_creation, reasoning)',
    labelNames: ['provider', 'model', 'type'],
    registers,
  });
  const requests = new Counter({
    name: 'axom_llm_requests_total',
    help: 'LLM API calls by provider, model, operation and whether they failed',
    labelNames: ['provider', 'model', 'operation', 'stream', 'error_type'],
    registers,
  });
  const genAiLabels = [
    'gen_ai_provider_name',
    'gen_ai_system',
    'gen_ai_operation_name',
    'gen_ai_request_model',
    'gen_ai_response_model',
  ];
  const tokenUsage = new Histogram({
    name: 'gen_ai_client_token_usage',
    help: 'Number of input and output tokens used, per call (OpenTelemetry gen_ai.client.token.usage)',
    labelNames: [...genAiLabels, 'gen_ai_token_type'],
    buckets: TOKEN_USAGE_BUCKETS,
    registers,
  });
  const duration = new Histogram({
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'GenAI operation duration (OpenTelemetry gen_ai.client.operation.duration)',
    labelNames: [...genAiLabels, 'error_type'],
    buckets: OPERATION_DURATION_BUCKETS,
    registers,
  });
  const ttft = new Histogram({
    name: 'axom_llm_time_to_first_token_seconds',
    help: 'Time from the request to the first streamed token',
    labelNames: ['provider', 'model', 'operation'],
    buckets: TIME_TO_FIRST_TOKEN_BUCKETS,
    registers,
  });
  const remaining = new Gauge({
    name: 'axom_llm_ratelimit_remaining',
    help: 'Rate-limit headroom the provider last reported (requests or tokens left in the window)',
    labelNames: ['provider', 'model', 'kind'],
    registers,
  });
  const mcpCalls = new Counter({
    name: 'axom_mcp_tool_calls_total',
    help: 'MCP tools/call requests by tool and result (ok, error: JSON-RPC error, tool_error: isError result)',
    labelNames: ['tool', 'result'],
    registers,
  });
  const mcpRequests = new Counter({
    name: 'axom_mcp_requests_total',
    help: 'MCP JSON-RPC requests by method and result',
    labelNames: ['method', 'result'],
    registers,
  });

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
