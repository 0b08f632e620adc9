/**
 * A local server speaking OpenAI's and Anthropic's documented wire formats (JSON and SSE),
 * over HTTP/1.1 or TLS, for the real SDK clients in test/integration/llm*.test.ts. Bodies
 * come from sidecar/llm/testdata/wire.ts so the expected token counts are known exactly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as wire from '../../sidecar/llm/testdata/wire.ts';

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** Streams SSE text event by event, as providers do. */
function stream(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const events = text.split('\n\n').filter((e) => e !== '');
  let i = 0;
  const next = () => {
    if (i >= events.length) return void res.end();
    res.write(`${events[i++]}\n\n`);
    setTimeout(next, 2);
  };
  next();
}

export function providerHandler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
    } catch {
      return json(res, 400, { error: { type: 'invalid_request_error', message: 'bad json' } });
    }
    const path = (req.url ?? '').split('?')[0];
    const rate = {
      'x-ratelimit-limit-requests': '500',
      'x-ratelimit-remaining-requests': '499',
      'x-ratelimit-remaining-tokens': '29000',
    };
    if (body.model === 'rate-limited') {
      return json(
        res,
        429,
        { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
        { ...rate, 'x-ratelimit-remaining-requests': '0', 'retry-after': '1' },
      );
    }
    switch (path) {
      case '/v1/chat/completions':
        return body.stream === true
          ? stream(res, wire.openaiChatStream())
          : json(res, 200, wire.openaiChat.body, rate);
      case '/v1/responses':
        return body.stream === true
          ? stream(res, wire.openaiResponsesStream())
          : json(res, 200, wire.openaiResponses.body);
      case '/v1/embeddings':
        return json(res, 200, wire.openaiEmbeddings.body);
      case '/v1/messages':
        if (body.model === 'overloaded')
          return json(res, 529, {
            type: 'error',
            error: { type: 'overloaded_error', message: 'Overloaded' },
          });
        return body.stream === true
          ? stream(res, wire.anthropicStream())
          : json(res, 200, wire.anthropicMessage.body);
      default:
        return json(res, 404, { error: { type: 'not_found', message: path } });
    }
  });
}

/** What each SDK call in NODE_SDK_CLIENT must meter, in call order. */
export const EXPECTED_NODE_SDK_CALLS = [
  {
    operation: 'chat',
    model: 'gpt-4o',
    stream: false,
    inputTokens: 1200,
    outputTokens: 42,
    cachedInputTokens: 1024,
    reasoningTokens: 0,
    toolCalls: ['get_weather'],
    finishReason: 'tool_calls',
  },
  {
    operation: 'chat',
    model: 'gpt-4o-mini',
    stream: true,
    inputTokens: 17,
    outputTokens: 2,
    cachedInputTokens: 0,
    reasoningTokens: 0,
    finishReason: 'stop',
  },
  {
    operation: 'chat',
    model: 'o4-mini',
    stream: false,
    inputTokens: 300,
    outputTokens: 250,
    cachedInputTokens: 128,
    reasoningTokens: 192,
    toolCalls: ['search_docs'],
    finishReason: 'completed',
  },
  {
    operation: 'chat',
    model: 'o4-mini',
    stream: true,
    inputTokens: 11,
    outputTokens: 7,
    cachedInputTokens: 0,
    reasoningTokens: 4,
    finishReason: 'completed',
  },
  { operation: 'embeddings', model: 'text-embedding-3-small', inputTokens: 8 },
  { operation: 'chat', model: 'rate-limited', stream: false },
  {
    operation: 'chat',
    model: 'claude-sonnet-4-20250514',
    stream: false,
    inputTokens: 1250,
    outputTokens: 30,
    cachedInputTokens: 1000,
    toolCalls: ['get_stock_price'],
    finishReason: 'tool_use',
  },
  {
    operation: 'chat',
    model: 'claude-3-5-haiku-20241022',
    stream: true,
    inputTokens: 35,
    outputTokens: 15,
    cachedInputTokens: 10,
    toolCalls: ['lookup'],
    finishReason: 'tool_use',
  },
];

/** The real `openai` and `@anthropic-ai/sdk` packages, one call per expected entry. */
export function nodeSdkClient(openaiUrl: string, anthropicUrl: string): string {
  return `
import OpenAI from ${JSON.stringify(openaiUrl)};
import Anthropic from ${JSON.stringify(anthropicUrl)};
const { baseURL } = JSON.parse(process.env.AXOM_TEST);
const openai = new OpenAI({ baseURL: baseURL + '/v1', apiKey: 'sk-test-not-a-real-key', maxRetries: 0 });
const anthropic = new Anthropic({ baseURL, apiKey: 'sk-ant-test', maxRetries: 0 });
const out = [];
const chat = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }] });
out.push(chat.usage.prompt_tokens);
const s = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
for await (const c of s) if (c.usage) out.push(c.usage.prompt_tokens);
const r = await openai.responses.create({ model: 'o4-mini', input: 'search' });
out.push(r.usage.input_tokens);
const rs = await openai.responses.create({ model: 'o4-mini', input: 'hi', stream: true });
for await (const e of rs) if (e.type === 'response.completed') out.push(e.response.usage.input_tokens);
const emb = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
out.push(emb.usage.prompt_tokens);
try { await openai.chat.completions.create({ model: 'rate-limited', messages: [] }); } catch (e) { out.push(e.status); }
const m = await anthropic.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 100, messages: [{ role: 'user', content: 'ACME?' }] });
out.push(m.usage.input_tokens);
const ms = anthropic.messages.stream({ model: 'claude-3-5-haiku-20241022', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
const final = await ms.finalMessage();
out.push(final.usage.output_tokens);
console.log(JSON.stringify(out));
`;
}

/** What the SDKs themselves saw, printed by the client: a check that the server spoke correctly. */
export const EXPECTED_NODE_SDK_OUTPUT = [1200, 17, 300, 11, 8, 429, 50, 15];
