/**
 * Traffic for the sidecar end-to-end test, run inside the test's network namespace:
 * an "LLM API" server on 10.123.0.2:8080 called by the pod (10.123.0.1), and a server of the
 * pod's own on 10.123.0.1:9090 called from outside. Prints one JSON line with what the
 * client saw (method, path, status, start/end times) so the test can compare.
 *
 *   node sidecar-traffic.ts <requests> <secret-key> [first-n]
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const count = Number(process.argv[2] ?? '10');
const key = process.argv[3] ?? 'sk-test';
const offset = Number(process.argv[4] ?? '0');

interface Seen {
  method: string;
  path: string;
  status: number;
  startMs: number;
  endMs: number;
  port: number;
  /** The request's number (chat calls), which the response's token counts derive from. */
  n?: number;
}

const llm = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = req.url ?? '/';
    if (url.startsWith('/v1/chat/completions')) {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { n: number };
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-ratelimit-remaining-requests': String(1000 - body.n),
      });
      res.end(
        JSON.stringify({
          id: `chat-${body.n}`,
          usage: { prompt_tokens: 10 + body.n, completion_tokens: 5, total_tokens: 15 + body.n },
        }),
      );
    } else if (url.startsWith('/overloaded')) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":{"type":"overloaded_error"}}');
    } else {
      res.writeHead(404).end();
    }
  });
});
const own = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(204).end());
});

function call(
  agent: Agent,
  host: string,
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const startMs = Date.now();
    const req = request(
      {
        host,
        port,
        method,
        path,
        agent,
        localAddress: host === '10.123.0.2' ? '10.123.0.1' : '10.123.0.2',
        headers: {
          authorization: `Bearer ${key}`,
          'x-tenant-secret': 'tenant-hunter2',
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ method, path, status: res.statusCode ?? 0, startMs, endMs: Date.now(), port }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

await new Promise<void>((r) => llm.listen(8080, '10.123.0.2', r));
await new Promise<void>((r) => own.listen(9090, '10.123.0.1', r));
const agent = new Agent({ keepAlive: true, maxSockets: 2 });
const seen: Seen[] = [];
for (let i = offset; i < offset + count; i++) {
  const body = JSON.stringify({ n: i, api_key: key });
  seen.push({ ...(await call(agent, '10.123.0.2', 8080, 'POST', '/v1/chat/completions', body)), n: i });
}
seen.push(await call(agent, '10.123.0.2', 8080, 'GET', `/overloaded?api_key=${key}`));
seen.push(await call(agent, '10.123.0.1', 9090, 'PUT', '/state'));
agent.destroy();
await new Promise((r) => setTimeout(r, 50));
llm.close();
own.close();
process.stdout.write(
  `${JSON.stringify({ seen, llmPort: (llm.address() as AddressInfo | null)?.port ?? 8080 })}\n`,
);
