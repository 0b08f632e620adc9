/**
 * One entry point: an HTTP transaction in, LLM usage out (or undefined when it is not an
 * LLM API call or its provider is switched off). Errors (HTTP status, error bodies, errors
 * inside a stream) and rate-limit headers are read for every provider.
 */
import type { LlmSpec } from '../../lib/policy/types.ts';
import type { Transaction } from '../protocols/types.ts';
import { extractAnthropic } from './anthropic.ts';
import { extractBedrock } from './bedrock.ts';
import { detectRoute, type Exchange, exchangeOf, type Route } from './detect.ts';
import { extractGemini } from './gemini.ts';
import { type Json, obj, parseJson, path, str } from './json.ts';
import { type ExtractOptions, extractOpenAi } from './openai.ts';
import { rateLimitFrom } from './ratelimit.ts';
import { responseEvents, type StreamEvent } from './sse.ts';
import type { LlmUsage } from './types.ts';

export const DEFAULT_MAX_CONTENT_CHARS = 16 * 1024;

export interface LlmExtractOptions {
  /** rules.yaml `llm`; everything on when absent. */
  spec?: Pick<LlmSpec, 'enabled' | 'providers' | 'captureContent'>;
  maxContentChars?: number;
  /** TLS SNI, the host when the request has none (HTTP/2 always has :authority). */
  sni?: string;
}

/** Returns the route when this transaction is an LLM API call of an enabled provider. */
export function routeOf(
  tx: Transaction,
  options: LlmExtractOptions = {},
): { ex: Exchange; route: Route } | undefined {
  const spec = options.spec;
  if (spec !== undefined && !spec.enabled) return undefined;
  const ex = exchangeOf(tx, options.sni);
  if (ex === undefined) return undefined;
  const route = detectRoute(ex);
  if (route === undefined) return undefined;
  if (spec !== undefined && spec.providers[route.switch] === false) return undefined;
  return { ex, route };
}

function errorType(body: Json | undefined, ex: Exchange): string | undefined {
  const amzn = ex.responseHeaders['x-amzn-errortype'];
  if (amzn !== undefined) return amzn.split(':')[0];
  const b = obj(body);
  const err = obj(b?.error);
  return (
    str(err?.type) ?? // OpenAI, Anthropic
    str(err?.status) ?? // Gemini
    str(err?.code) ??
    (typeof err?.code === 'number' ? String(err.code) : undefined) ??
    str(b?.__type)?.split('#').pop() ?? // AWS JSON errors
    (typeof b?.error === 'string' ? 'error' : undefined) // Ollama, vLLM plain errors
  );
}

export function extractLlm(tx: Transaction, options: LlmExtractOptions = {}): LlmUsage | undefined {
  const found = routeOf(tx, options);
  if (found === undefined) return undefined;
  const { ex, route } = found;
  const o: ExtractOptions = {
    captureContent: options.spec?.captureContent === true,
    maxContentChars: options.maxContentChars ?? DEFAULT_MAX_CONTENT_CHARS,
  };
  const events: StreamEvent[] | undefined = responseEvents(tx.response);
  const body =
    events === undefined && tx.response?.body !== undefined ? parseJson(tx.response.body) : undefined;

  let u: LlmUsage;
  switch (route.switch) {
    case 'anthropic':
      u = extractAnthropic(ex, route, body, events, o);
      break;
    case 'bedrock':
      u = extractBedrock(ex, route, body, o);
      break;
    case 'gemini':
      u = extractGemini(ex, route, body, events, o);
      break;
    default:
      u = extractOpenAi(ex, route, body, events, o);
      break;
  }

  // Errors in a stream that the provider extractor did not name (OpenAI puts them in a data line).
  if (u.error === undefined && events !== undefined) {
    for (const e of events) {
      if (e.event === 'error' || e.data.startsWith('{"error"') || e.data.includes('"type":"error"')) {
        const d = parseJson(e.data);
        const type =
          str(path(d, 'error', 'type')) ?? str(path(d, 'error', 'code')) ?? str(obj(d)?.code) ?? 'error';
        u.error = { type, inStream: true };
        u.finishReason = 'error';
        break;
      }
      const t = str(obj(parseJson(e.data))?.type);
      if (t === 'response.failed') {
        const d = parseJson(e.data);
        u.error = { type: str(path(d, 'response', 'error', 'code')) ?? 'response_failed', inStream: true };
      }
    }
  }
  if (ex.status !== undefined && ex.status >= 400) {
    u.error = { type: errorType(body, ex) ?? String(ex.status), status: ex.status, inStream: false };
  }
  const rl = rateLimitFrom(ex.responseHeaders);
  if (rl !== undefined) u.rateLimit = rl;
  if (u.model === undefined && u.responseModel !== undefined) u.model = u.responseModel;
  return u;
}
