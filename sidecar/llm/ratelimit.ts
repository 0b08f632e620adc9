/** Rate-limit headers of the providers that send them, as numbers. */
import type { RateLimit } from './types.ts';

const NUMBER = /^\s*(\d+(?:\.\d+)?)\s*$/;

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = NUMBER.exec(v);
  return m === null ? undefined : Number(m[1]);
}

const HEADERS: ReadonlyArray<[keyof RateLimit, string]> = [
  // OpenAI (and most OpenAI-compatible servers)
  ['limitRequests', 'x-ratelimit-limit-requests'],
  ['remainingRequests', 'x-ratelimit-remaining-requests'],
  ['limitTokens', 'x-ratelimit-limit-tokens'],
  ['remainingTokens', 'x-ratelimit-remaining-tokens'],
  // Anthropic
  ['limitRequests', 'anthropic-ratelimit-requests-limit'],
  ['remainingRequests', 'anthropic-ratelimit-requests-remaining'],
  ['limitTokens', 'anthropic-ratelimit-tokens-limit'],
  ['remainingTokens', 'anthropic-ratelimit-tokens-remaining'],
  ['limitInputTokens', 'anthropic-ratelimit-input-tokens-limit'],
  ['remainingInputTokens', 'anthropic-ratelimit-input-tokens-remaining'],
  ['limitOutputTokens', 'anthropic-ratelimit-output-tokens-limit'],
  ['remainingOutputTokens', 'anthropic-ratelimit-output-tokens-remaining'],
  ['retryAfterSeconds', 'retry-after'],
];

export function rateLimitFrom(headers: Record<string, string> | undefined): RateLimit | undefined {
  if (headers === undefined) return undefined;
  let out: RateLimit | undefined;
  for (const [field, name] of HEADERS) {
    const v = num(headers[name]);
    if (v !== undefined) {
      out ??= {};
      out[field] = v;
    }
  }
  return out;
}

/** signal.metrics names for the rate-limit numbers (numbers only, so they fit the map). */
export const RATE_LIMIT_METRIC: Readonly<Record<keyof RateLimit, string>> = {
  limitRequests: 'llm_ratelimit_limit_requests',
  remainingRequests: 'llm_ratelimit_remaining_requests',
  limitTokens: 'llm_ratelimit_limit_tokens',
  remainingTokens: 'llm_ratelimit_remaining_tokens',
  limitInputTokens: 'llm_ratelimit_limit_input_tokens',
  remainingInputTokens: 'llm_ratelimit_remaining_input_tokens',
  limitOutputTokens: 'llm_ratelimit_limit_output_tokens',
  remainingOutputTokens: 'llm_ratelimit_remaining_output_tokens',
  retryAfterSeconds: 'llm_ratelimit_retry_after_seconds',
};
