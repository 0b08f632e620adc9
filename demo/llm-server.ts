/**
 * A small local LLM server speaking the OpenAI Chat Completions format, for the demo: no
 * model, just deterministic replies with honest token counts (one token per word), both
 * as one JSON body and as a server-sent-event stream whose last chunk carries the usage
 * (what OpenAI sends with `stream_options.include_usage`).
 *
 *   node demo/llm-server.ts [host] [port]     prints `listening http://host:port` when ready
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** Bodies above this are refused: the demo's requests are tiny. */
const MAX_BODY_BYTES = 1 << 20;
const MODEL = 'demo-gpt-mini';

interface ChatMessage {
  role: string;
  content?: string | null;
}
interface ChatRequest {
  model?: string;
  messages?: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);

/** Prompt tokens: every word of every message plus 3 per message, roughly as tiktoken counts framing. */
function promptTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + 3 + words(m.content ?? '').length, 0);
}

function replyTo(messages: readonly ChatMessage[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  return `You asked about ${words(last).slice(0, 6).join(' ')}. Here is a short, deterministic answer from the local demo model.`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-ratelimit-remaining-requests': '999',
    'x-ratelimit-remaining-tokens': '149000',
  });
  res.end(text);
}

let counter = 0;

async function chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body: ChatRequest;
  try {
    body = JSON.parse(await readBody(req)) as ChatRequest;
  } catch (err) {
    json(res, 400, {
      error: { message: `bad request: ${(err as Error).message}`, type: 'invalid_request_error' },
    });
    return;
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  if (messages.length === 0) {
    json(res, 400, { error: { message: 'messages must not be empty', type: 'invalid_request_error' } });
    return;
  }
  const id = `chatcmpl-demo-${++counter}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model ?? MODEL;
  const answer = replyTo(messages);
  const usage = {
    prompt_tokens: promptTokens(messages),
    completion_tokens: words(answer).length,
    total_tokens: promptTokens(messages) + words(answer).length,
  };
  if (!body.stream) {
    json(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
      usage,
    });
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'x-ratelimit-remaining-requests': '998',
  });
  const chunk = (delta: object, finish: string | null, extra: object = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
  res.write(chunk({ role: 'assistant', content: '' }, null));
  for (const w of words(answer)) {
    res.write(chunk({ content: `${w} ` }, null));
    // A little pacing, so the stream is a stream and time-to-first-token means something.
    await new Promise((r) => setTimeout(r, 5));
  }
  res.write(chunk({}, 'stop'));
  if (body.stream_options?.include_usage) {
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
    );
  }
  res.end('data: [DONE]\n\n');
}

export function createLlmServer() {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      chat(req, res).catch((err: unknown) => {
        if (!res.headersSent) json(res, 500, { error: { message: String(err), type: 'server_error' } });
        else res.destroy();
      });
    } else if (req.method === 'GET' && path === '/v1/models') {
      json(res, 200, { object: 'list', data: [{ id: MODEL, object: 'model', owned_by: 'axom-demo' }] });
    } else {
      json(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'not_found' } });
    }
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const host = process.argv[2] ?? '127.0.0.1';
  const port = Number(process.argv[3] ?? 8080);
  const server = createLlmServer();
  server.listen(port, host, () => process.stdout.write(`listening http://${host}:${port}\n`));
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
