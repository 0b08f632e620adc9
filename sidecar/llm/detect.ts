/**
 * Which LLM API a transaction is: by path (the API shape), refined by host (the provider
 * behind it) and, for unknown paths, by the request body. Routes are what the extractors
 * dispatch on; the provider name is what the signal and metrics say.
 */
import type { Transaction } from '../protocols/types.ts';
import { type Json, type JsonObject, obj, parseJson, str } from './json.ts';
import { type GenAiOperation, type LlmUsage, PROVIDER_NAMES, type ProviderSwitch } from './types.ts';

export type RouteKind =
  | 'openai-chat'
  | 'openai-responses'
  | 'openai-embeddings'
  | 'openai-completions'
  | 'ollama-chat'
  | 'ollama-generate'
  | 'ollama-embed'
  | 'anthropic-messages'
  | 'bedrock-invoke'
  | 'bedrock-invoke-stream'
  | 'bedrock-converse'
  | 'bedrock-converse-stream'
  | 'gemini-generate'
  | 'gemini-stream'
  | 'gemini-embed';

export interface Route {
  kind: RouteKind;
  switch: ProviderSwitch;
  provider: string;
  operation: GenAiOperation;
  /** Model named in the URL (Bedrock model id, Gemini model, Azure deployment). */
  pathModel?: string;
}

/**
 * The usage every extractor starts from: who and what the route says, and the model the
 * request body names, else the one in the URL.
 */
export function usageOf(route: Route, requestModel?: Json): LlmUsage {
  const u: LlmUsage = { provider: route.provider, operation: route.operation };
  const model = str(requestModel) ?? route.pathModel;
  if (model !== undefined) u.model = model;
  return u;
}

/** Everything extraction reads from one HTTP exchange, decoded once. */
export interface Exchange {
  tx: Transaction;
  host: string;
  path: string;
  query: string;
  method: string;
  status: number | undefined;
  requestHeaders: Record<string, string>;
  responseHeaders: Record<string, string>;
  request: JsonObject | undefined;
}

export function exchangeOf(tx: Transaction, sniHost: string | undefined): Exchange | undefined {
  const http = tx.http;
  if (http === undefined) return undefined;
  const target = http.path ?? '';
  const q = target.indexOf('?');
  const host = (
    http.host ??
    tx.request?.headers?.host ??
    tx.request?.headers?.[':authority'] ??
    sniHost ??
    ''
  )
    .toLowerCase()
    .replace(/:\d+$/, '');
  const request = tx.request?.body !== undefined ? obj(parseJson(tx.request.body)) : undefined;
  return {
    tx,
    host,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    method: (http.method ?? '').toUpperCase(),
    status: http.statusCode ?? (typeof tx.status === 'number' ? tx.status : undefined),
    requestHeaders: tx.request?.headers ?? http.requestHeaders ?? {},
    responseHeaders: tx.response?.headers ?? http.responseHeaders ?? {},
    request,
  };
}

const BEDROCK_PATH = /\/model\/([^/]+)\/(invoke|invoke-with-response-stream|converse|converse-stream)$/;
const GEMINI_PATH =
  /\/models\/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$/;
const AZURE_DEPLOYMENT = /\/openai\/deployments\/([^/]+)\//;

function openaiProvider(ex: Exchange): { switch: ProviderSwitch; provider: string } {
  if (ex.host === 'api.openai.com' || ex.host.endsWith('.openai.com')) {
    return { switch: 'openai', provider: PROVIDER_NAMES.openai };
  }
  if (ex.host.endsWith('.openai.azure.com') || ex.path.startsWith('/openai/deployments/')) {
    return { switch: 'openai', provider: PROVIDER_NAMES.azureOpenai };
  }
  return { switch: 'openaiCompatible', provider: PROVIDER_NAMES.openaiCompatible };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function detectRoute(ex: Exchange): Route | undefined {
  if (ex.method !== 'POST') return undefined;
  const p = ex.path;

  const bedrock = BEDROCK_PATH.exec(p);
  if (bedrock !== null) {
    const kind = (
      {
        invoke: 'bedrock-invoke',
        'invoke-with-response-stream': 'bedrock-invoke-stream',
        converse: 'bedrock-converse',
        'converse-stream': 'bedrock-converse-stream',
      } as const
    )[bedrock[2] as 'invoke'];
    return {
      kind,
      switch: 'bedrock',
      provider: PROVIDER_NAMES.bedrock,
      operation: 'chat',
      pathModel: decode(bedrock[1]!),
    };
  }

  const gemini = GEMINI_PATH.exec(p);
  if (gemini !== null) {
    const method = gemini[2]!;
    const kind: RouteKind =
      method === 'generateContent'
        ? 'gemini-generate'
        : method === 'streamGenerateContent'
          ? 'gemini-stream'
          : 'gemini-embed';
    return {
      kind,
      switch: 'gemini',
      provider: ex.host.endsWith('aiplatform.googleapis.com') ? PROVIDER_NAMES.vertex : PROVIDER_NAMES.gemini,
      operation: kind === 'gemini-embed' ? 'embeddings' : 'generate_content',
      pathModel: decode(gemini[1]!),
    };
  }

  if (
    p.endsWith('/messages') &&
    (ex.host.endsWith('anthropic.com') || 'anthropic-version' in ex.requestHeaders)
  ) {
    return {
      kind: 'anthropic-messages',
      switch: 'anthropic',
      provider: PROVIDER_NAMES.anthropic,
      operation: 'chat',
    };
  }

  const azure = AZURE_DEPLOYMENT.exec(p);
  const withModel = (r: Route): Route => (azure !== null ? { ...r, pathModel: decode(azure[1]!) } : r);
  if (p.endsWith('/chat/completions'))
    return withModel({ kind: 'openai-chat', ...openaiProvider(ex), operation: 'chat' });
  if (p.endsWith('/responses'))
    return withModel({ kind: 'openai-responses', ...openaiProvider(ex), operation: 'chat' });
  if (p.endsWith('/embeddings') && !p.startsWith('/api/')) {
    return withModel({ kind: 'openai-embeddings', ...openaiProvider(ex), operation: 'embeddings' });
  }
  if (p.endsWith('/completions')) {
    return withModel({ kind: 'openai-completions', ...openaiProvider(ex), operation: 'text_completion' });
  }

  // Ollama's native API: only with a body that looks like one (the paths are generic).
  const model = ex.request?.model;
  if (typeof model === 'string') {
    const ollama = { switch: 'openaiCompatible' as const, provider: PROVIDER_NAMES.ollama };
    if (p === '/api/chat' && 'messages' in ex.request!)
      return { kind: 'ollama-chat', ...ollama, operation: 'chat' };
    if (p === '/api/generate') return { kind: 'ollama-generate', ...ollama, operation: 'text_completion' };
    if (p === '/api/embed' || p === '/api/embeddings')
      return { kind: 'ollama-embed', ...ollama, operation: 'embeddings' };
    // Unknown path, OpenAI-shaped body (a gateway that rewrites paths).
    if (Array.isArray(ex.request!.messages)) {
      return {
        kind: 'openai-chat',
        switch: 'openaiCompatible',
        provider: PROVIDER_NAMES.openaiCompatible,
        operation: 'chat',
      };
    }
  }
  return undefined;
}
