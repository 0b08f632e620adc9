/**
 * The exporter against a real HTTP backend on loopback that refuses connections, stalls,
 * answers 429 and 503, rejects, then recovers: nothing is lost within the queue bound and
 * every drop beyond it is counted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createExporter, type Exporter } from '../../sidecar/sinks/exporter/index.ts';

type Behaviour = 'ok' | '503' | '429' | 'stall' | '400' | '401';

interface Received {
  status: number;
  headers: IncomingMessage['headers'];
  ids: string[];
}

/** A backend that answers each request with the next scripted behaviour, then `ok`. */
class Backend {
  readonly script: Behaviour[];
  readonly requests: Received[] = [];
  readonly accepted: string[] = [];
  server: Server | undefined;
  readonly #stalled: ServerResponse[] = [];
  #waiters: Array<() => void> = [];

  constructor(script: Behaviour[] = []) {
    this.script = script;
  }

  async listen(port = 0): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.#answer(req, res, Buffer.concat(chunks)));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    return (server.address() as AddressInfo).port;
  }

  #answer(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
    const text = body.toString('utf8');
    const parsed = (
      req.headers['content-type'] === 'application/x-ndjson'
        ? text
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : JSON.parse(text)
    ) as Array<{ id: string }>;
    const ids = parsed.map((s) => s.id);
    const behaviour = this.script.shift() ?? 'ok';
    const status = { ok: 200, '503': 503, '429': 429, stall: 0, '400': 400, '401': 401 }[behaviour];
    this.requests.push({ status, headers: req.headers, ids });
    if (behaviour === 'stall') {
      this.#stalled.push(res);
    } else {
      if (behaviour === 'ok') this.accepted.push(...ids);
      res.writeHead(status, behaviour === '429' ? { 'retry-after': '1' } : {});
      res.end(behaviour === 'ok' ? '{"ok":true}' : 'no');
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once `n` signals have been accepted. */
  async waitAccepted(n: number): Promise<void> {
    while (this.accepted.length < n) await new Promise<void>((r) => this.#waiters.push(r));
  }

  async close(): Promise<void> {
    for (const res of this.#stalled) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A loopback port nobody listens on (yet). */
async function freePort(): Promise<number> {
  const probe = new Backend();
  const port = await probe.listen();
  await probe.close();
  return port;
}

function signal(i: number): string {
  return JSON.stringify({ id: `sig-${i}`, kind: 'system', timestamp: new Date(0).toISOString() });
}

async function keyFile(t: { after: (fn: () => Promise<void>) => void }, key: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'axom-exporter-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'api-key');
  await writeFile(file, `${key}\n`);
  return file;
}

const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 5000 };

test('refused, 503, 429 with Retry-After, a stall, then recovery: every signal arrives once, gzip with Bearer', async (t) => {
  const port = await freePort();
  const backend = new Backend(['503', '503', '429', 'stall']);
  let exporter: Exporter | undefined;
  t.after(async () => {
    await exporter?.close(0);
    await backend.close();
  });
  exporter = createExporter({
    url: `http://127.0.0.1:${port}/v1/signals`,
    batchSize: 10,
    flushIntervalMs: 50,
    maxQueueSize: 100,
    timeoutMs: 300,
    apiKeyFile: await keyFile(t, 'test-key-1'),
    retry: FAST_RETRY,
  });
  for (let i = 0; i < 35; i++) exporter.enqueue(signal(i));
  // Nobody listens yet: connection refused, retried with backoff.
  while (exporter.stats().failures.connect < 2) await new Promise((r) => setTimeout(r, 20));
  await backend.listen(port);
  const retryAfterSeen = Date.now();
  await backend.waitAccepted(35);
  await exporter.flush();
  const stats = exporter.stats();

  const expected = Array.from({ length: 35 }, (_, i) => `sig-${i}`);
  assert.deepEqual([...backend.accepted].sort(), [...expected].sort());
  assert.equal(new Set(backend.accepted).size, 35, 'no signal accepted twice');
  for (const r of backend.requests) {
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers.authorization, 'Bearer test-key-1');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.ok(r.ids.length <= 10);
  }
  assert.deepEqual(
    backend.requests.slice(0, 4).map((r) => r.status),
    [503, 503, 429, 0],
  );
  assert.ok(Date.now() - retryAfterSeen >= 1000, 'Retry-After: 1 was honoured');
  assert.ok(stats.failures.connect >= 2);
  assert.equal(stats.failures.http_5xx, 2);
  assert.equal(stats.failures.http_429, 1);
  assert.equal(stats.failures.timeout, 1);
  assert.equal(stats.sentSignals, 35);
  assert.equal(stats.dropped.queue_full + stats.dropped.rejected + stats.dropped.shutdown, 0);
  assert.equal(stats.queued, 0);
});

test('beyond the queue bound the oldest signals are dropped and counted; the newest arrive', async (t) => {
  const port = await freePort();
  const backend = new Backend();
  let exporter: Exporter | undefined;
  t.after(async () => {
    await exporter?.close(0);
    await backend.close();
  });
  exporter = createExporter({
    url: `http://127.0.0.1:${port}/`,
    format: 'ndjson',
    batchSize: 10,
    flushIntervalMs: 50,
    maxQueueSize: 50,
    timeoutMs: 300,
    retry: FAST_RETRY,
    apiKey: 'env-key',
  });
  for (let i = 0; i < 120; i++) exporter.enqueue(signal(i));
  while (exporter.stats().failures.connect < 1) await new Promise((r) => setTimeout(r, 20));
  for (let i = 120; i < 130; i++) exporter.enqueue(signal(i));
  await backend.listen(port);
  await exporter.flush();
  await backend.waitAccepted(50);
  await exporter.flush();
  const stats = exporter.stats();
  assert.equal(stats.enqueued, 130);
  assert.equal(backend.accepted.length, 50);
  assert.equal(stats.dropped.queue_full, 80);
  assert.equal(stats.sentSignals + stats.dropped.queue_full, stats.enqueued, 'every signal sent or counted');
  const expected = Array.from({ length: 50 }, (_, i) => `sig-${80 + i}`);
  assert.deepEqual([...backend.accepted].sort(), [...expected].sort(), 'the newest 50 survive');
  assert.equal(backend.requests[0]?.headers['content-type'], 'application/x-ndjson');
  assert.equal(backend.requests[0]?.headers.authorization, 'Bearer env-key');
});

test('a batch the backend rejects (400) is dropped and counted; 401 re-reads the key and retries', async (t) => {
  const backend = new Backend(['400', '401']);
  const port = await backend.listen();
  const file = await keyFile(t, 'old-key');
  let exporter: Exporter | undefined;
  t.after(async () => {
    await exporter?.close(0);
    await backend.close();
  });
  exporter = createExporter({
    url: `http://127.0.0.1:${port}/`,
    batchSize: 5,
    flushIntervalMs: 10_000,
    maxQueueSize: 100,
    apiKeyFile: file,
    retry: FAST_RETRY,
    compression: 'none',
  });
  for (let i = 0; i < 5; i++) exporter.enqueue(signal(i));
  await exporter.flush();
  assert.equal(exporter.stats().dropped.rejected, 5);
  assert.equal(exporter.stats().failures.http_4xx, 1);
  for (let i = 5; i < 10; i++) exporter.enqueue(signal(i));
  await exporter.flush(); // answered 401
  assert.equal(exporter.stats().failures.auth, 1);
  await writeFile(file, 'new-key');
  await exporter.flush();
  await backend.waitAccepted(5);
  assert.equal(backend.requests.at(-1)?.headers.authorization, 'Bearer new-key');
  assert.equal(backend.requests.at(-1)?.headers['content-encoding'], undefined);
  assert.deepEqual(backend.accepted, ['sig-5', 'sig-6', 'sig-7', 'sig-8', 'sig-9']);
});

test('close flushes within the grace period, and counts what a stalled backend kept it from sending', async (t) => {
  const backend = new Backend();
  const port = await backend.listen();
  const exporter = createExporter({
    url: `http://127.0.0.1:${port}/`,
    batchSize: 100,
    flushIntervalMs: 60_000,
    maxQueueSize: 1000,
    timeoutMs: 5000,
    retry: FAST_RETRY,
  });
  t.after(async () => {
    await exporter.close(0);
    await backend.close();
  });
  for (let i = 0; i < 250; i++) exporter.enqueue(signal(i));
  await exporter.close(5000);
  assert.equal(backend.accepted.length, 250);
  assert.equal(exporter.stats().dropped.shutdown, 0);
  exporter.enqueue(signal(999));
  assert.equal(exporter.stats().dropped.shutdown, 1);

  const stalled = new Backend(['stall', 'stall', 'stall']);
  const stalledPort = await stalled.listen();
  t.after(() => stalled.close());
  const slow = createExporter({
    url: `http://127.0.0.1:${stalledPort}/`,
    batchSize: 10,
    flushIntervalMs: 60_000,
    maxQueueSize: 1000,
    timeoutMs: 60_000,
    retry: FAST_RETRY,
  });
  for (let i = 0; i < 30; i++) slow.enqueue(signal(i));
  const started = Date.now();
  await slow.close(300);
  assert.ok(Date.now() - started < 5000, 'close returned although the backend stalls');
  assert.equal(slow.stats().dropped.shutdown, 30);
  assert.equal(slow.stats().sentSignals, 0);
});
