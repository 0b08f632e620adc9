/**
 * Live and offline capture of real traffic: node:http, ws and curl talking across a veth
 * pair between two network namespaces; the pipeline captures live inside the "pod"
 * namespace while tcpdump records the same flows, which are then replayed offline.
 * Every request the clients made must come out exactly once, with the right method,
 * path, status, sizes, direction and a latency consistent with the client's own timing.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PrerequisiteError } from '../../lib/errors.ts';
import { kernelStatsAvailable } from '../../sidecar/capture/index.ts';
import { createPipeline, replayPcapFile, type Transaction } from '../../sidecar/pipeline/index.ts';
import { createNetnsPair, type NetnsPair, waitForLine } from '../harness/netns.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const SERVER_PORT = 8080;
const POD_SERVER_PORT = 9090;

interface SeenTx {
  protocol: string;
  operation?: string;
  status?: number;
  startMs: number;
  endMs: number;
  requestBytes: number;
  responseBytes: number;
  complete: boolean;
  direction: string;
  requestBody?: number;
  responseBody?: string;
  responseBodyLength?: number;
  events?: string[];
  websocket?: { messagesSent?: number; messagesReceived?: number; closeCode?: number };
}

interface ClientRecord {
  kind: 'http' | 'websocket';
  method?: string;
  path: string;
  status?: number;
  startMs: number;
  endMs: number;
  requestBody?: number;
  responseBody?: number;
  sent?: number;
  received?: number;
  closeCode?: number;
  direction?: string;
}

function lines(child: ChildProcess): { all: () => unknown[] } {
  let buf = '';
  const parsed: unknown[] = [];
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('{')) parsed.push(JSON.parse(line));
      nl = buf.indexOf('\n');
    }
  });
  return { all: () => parsed };
}

function requireKernelStats(): void {
  if (!kernelStatsAvailable()) {
    throw new PrerequisiteError(
      'the packet_stats addon is not built: run bash sidecar/capture/native/build.sh',
    );
  }
}

function requireTool(name: string): void {
  try {
    execFileSync('which', [name], { stdio: 'ignore' });
  } catch {
    throw new PrerequisiteError(`${name} is not installed (scripts/setup.sh installs it)`);
  }
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

describe('capture of real HTTP/1.1 and WebSocket traffic', () => {
  let pair: NetnsPair;
  let dir: string;
  const expected: ClientRecord[] = [];
  let live: SeenTx[] = [];
  let liveCounters: Record<string, number> = {};
  let liveStats: Record<string, unknown> = {};
  /** The same traffic captured on `any` (Linux cooked headers) by a second capture. */
  const onAny: SeenTx[] = [];
  const replayed: SeenTx[] = [];
  let replayCounters: Record<string, number> = {};

  before(async () => {
    requireTool('tcpdump');
    requireTool('curl');
    requireKernelStats();
    dir = mkdtempSync(join(tmpdir(), 'axom-capture-'));
    pair = await createNetnsPair();
    const pcap = join(dir, 'flows.pcap');

    const server = pair.spawnNode(pair.b, join(FIXTURES, 'capture-server.ts'), [
      String(SERVER_PORT),
      pair.b.ip,
    ]);
    const podServer = pair.spawnNode(pair.a, join(FIXTURES, 'capture-server.ts'), [
      String(POD_SERVER_PORT),
      pair.a.ip,
    ]);
    await Promise.all([waitForLine(server, /^ready/), waitForLine(podServer, /^ready/)]);

    const capture = pair.spawnNode(pair.a, join(FIXTURES, 'capture-child.ts'), [
      pair.a.iface,
      pair.a.ip,
      'tcp',
    ]);
    const captured = lines(capture);
    await waitForLine(capture, /"ready":true/);
    const anyCapture = pair.spawnNode(pair.a, join(FIXTURES, 'capture-child.ts'), ['any', pair.a.ip, 'tcp']);
    const capturedOnAny = lines(anyCapture);
    await waitForLine(anyCapture, /"ready":true,"linkType":113/);
    const tcpdump = pair.spawn(pair.a, [
      'tcpdump',
      '-i',
      pair.a.iface,
      '--immediate-mode',
      '-U',
      '-s',
      '0',
      '-w',
      pcap,
      'tcp',
    ]);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
      tcpdump.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });

    const client = await pair.run(pair.a, [
      process.execPath,
      join(FIXTURES, 'capture-client.ts'),
      pair.b.ip,
      String(SERVER_PORT),
    ]);
    assert.equal(client.code, 0, client.stderr);
    for (const line of client.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const rec = JSON.parse(line) as ClientRecord & { done?: boolean };
      if (!rec.done) expected.push({ ...rec, direction: 'outbound' });
    }
    // curl out of the pod, and into the pod's own server from the peer.
    for (const [end, url, direction] of [
      [pair.a, `http://${pair.b.ip}:${SERVER_PORT}/json/77`, 'outbound'],
      [pair.b, `http://${pair.a.ip}:${POD_SERVER_PORT}/json/88`, 'inbound'],
    ] as const) {
      const startMs = Date.now();
      const r = await pair.run(end, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url]);
      expected.push({
        kind: 'http',
        method: 'GET',
        path: new URL(url).pathname,
        status: Number(r.stdout),
        startMs,
        endMs: Date.now(),
        direction,
      });
    }
    // The WebSocket upgrade request is an HTTP exchange of its own.
    const ws = expected.find((e) => e.kind === 'websocket')!;
    expected.push({
      kind: 'http',
      method: 'GET',
      path: ws.path,
      status: 101,
      startMs: ws.startMs,
      endMs: ws.endMs,
      direction: 'outbound',
    });

    const want = expected.length;
    await until(() => captured.all().filter((l) => (l as { tx?: unknown }).tx).length >= want, 5000);
    await until(() => capturedOnAny.all().filter((l) => (l as { tx?: unknown }).tx).length >= want, 2000);
    capture.kill('SIGTERM');
    anyCapture.kill('SIGTERM');
    await Promise.all([
      new Promise((r) => capture.once('exit', r)),
      new Promise((r) => anyCapture.once('exit', r)),
    ]);
    for (const l of capturedOnAny.all() as { tx?: SeenTx }[]) if (l.tx) onAny.push(l.tx);
    tcpdump.kill('SIGINT');
    await new Promise((r) => tcpdump.once('exit', r));
    for (const l of captured.all() as {
      tx?: SeenTx;
      counters?: Record<string, number>;
      stats?: Record<string, unknown>;
    }[]) {
      if (l.tx) live.push(l.tx);
      if (l.counters) liveCounters = l.counters;
      if (l.stats) liveStats = l.stats;
    }
    live = live.filter((t) => t.protocol === 'http' || t.protocol === 'websocket');

    const pipeline = createPipeline({
      podIps: [pair.a.ip],
      limits: { maxBodyBytes: 64 * 1024 },
      onTransaction(tx: Transaction, conn) {
        replayed.push({
          protocol: tx.protocol,
          ...(tx.operation === undefined ? {} : { operation: tx.operation }),
          ...(typeof tx.status === 'number' ? { status: tx.status } : {}),
          startMs: tx.startMs,
          endMs: tx.endMs,
          requestBytes: tx.requestBytes,
          responseBytes: tx.responseBytes,
          complete: tx.complete,
          direction: conn.direction,
          ...(tx.request?.body ? { requestBody: tx.request.body.length } : {}),
          ...(tx.response?.body
            ? { responseBody: tx.response.body.toString('utf8'), responseBodyLength: tx.response.body.length }
            : {}),
          ...(tx.response?.events ? { events: tx.response.events.map((e) => e.data) } : {}),
          ...(tx.websocket ? { websocket: tx.websocket } : {}),
        });
      },
    });
    await replayPcapFile(pcap, pipeline);
    replayCounters = pipeline.counters.snapshot() as unknown as Record<string, number>;
  });

  after(async () => {
    await pair?.destroy();
    if (dir && !process.env.AXOM_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of ['live', 'replayed'] as const) {
    const seen = (): SeenTx[] => (mode === 'live' ? live : replayed);
    // Live timestamps are taken when a packet reaches JavaScript, the pcap's by the kernel.
    const slackMs = mode === 'live' ? 30 : 3;

    it(`${mode}: every HTTP request is seen exactly once with method, path, status and direction`, () => {
      const http = seen().filter((t) => t.protocol === 'http');
      const wanted = expected.filter((e) => e.kind === 'http');
      assert.equal(http.length, wanted.length, JSON.stringify(http.map((t) => t.operation)));
      for (const e of wanted) {
        const matches = http.filter((t) => t.operation === `${e.method} ${e.path}`);
        assert.equal(matches.length, 1, `${e.method} ${e.path} seen ${matches.length} times`);
        const tx = matches[0]!;
        assert.equal(tx.status, e.status, `${e.path} status`);
        assert.equal(tx.complete, true, `${e.path} complete`);
        assert.equal(tx.direction, e.direction, `${e.path} direction`);
        const latency = tx.endMs - tx.startMs;
        assert.ok(
          latency >= 0 && latency <= e.endMs - e.startMs + slackMs,
          `${e.path}: captured ${latency} ms, client saw ${e.endMs - e.startMs} ms`,
        );
      }
    });

    it(`${mode}: bodies, sizes and latency match what the client did`, () => {
      const byOp = (op: string): SeenTx => seen().find((t) => t.operation === op)!;
      const echo = byOp('POST /echo/1');
      const echoed = expected.find((e) => e.path === '/echo/1')!;
      assert.equal(echo.requestBody, echoed.requestBody);
      assert.equal(echo.responseBodyLength, echoed.requestBody);
      assert.ok(echo.requestBytes > echoed.requestBody! && echo.responseBytes > echoed.requestBody!);
      const json = byOp('GET /json/2');
      assert.deepEqual(JSON.parse(json.responseBody!), {
        id: '2',
        usage: { prompt_tokens: 11, completion_tokens: 2 },
      });
      const head = byOp('HEAD /json/3');
      assert.equal(head.responseBodyLength, undefined);
      assert.equal(byOp('GET /nocontent/1').status, 204);
      assert.equal(JSON.parse(byOp('GET /gzip/1').responseBody!).usage.total_tokens, 42, 'gzip decoded');
      const slow = byOp('GET /delay/150');
      assert.ok(slow.endMs - slow.startMs >= 145, `delay captured as ${slow.endMs - slow.startMs} ms`);
      const sse = byOp('GET /sse/4');
      assert.deepEqual(sse.events, ['{"i":0}', '{"i":1}', '{"i":2}', '{"i":3}', '[DONE]']);
      assert.ok(sse.endMs - sse.startMs >= 60, 'the stream took at least 4 ticks');
    });

    it(`${mode}: the WebSocket session has its message counts and close code`, () => {
      const ws = seen().filter((t) => t.protocol === 'websocket');
      assert.equal(ws.length, 1);
      const e = expected.find((x) => x.kind === 'websocket')!;
      assert.deepEqual(ws[0]!.websocket, {
        messagesSent: e.sent,
        messagesReceived: e.received,
        closeCode: e.closeCode,
      });
      assert.equal(ws[0]!.operation, 'WEBSOCKET /ws/chat');
      assert.equal(ws[0]!.complete, true);
    });
  }

  it('live: no gaps, no parse errors, kernel drops known and zero', () => {
    assert.equal(liveCounters.gaps, 0);
    assert.equal(liveCounters.parseErrors, 0);
    assert.equal(liveCounters.internalErrors, 0);
    assert.equal(liveStats.kernelDropsKnown, true, 'the packet_stats addon reads kernel drops');
    assert.equal(liveStats.kernelDrops, 0);
    assert.ok((liveCounters.packets ?? 0) > 50);
  });

  it('live on `any` (Linux cooked capture): the same transactions', () => {
    const ops = (xs: SeenTx[]): string[] =>
      xs.map((t) => `${t.protocol} ${t.operation} ${t.status} ${t.complete}`).sort();
    assert.deepEqual(ops(onAny), ops(live));
  });

  it('replayed: the same transactions as live, no gaps or errors', () => {
    assert.equal(replayCounters.gaps, 0);
    assert.equal(replayCounters.parseErrors, 0);
    const ops = (xs: SeenTx[]): string[] => xs.map((t) => `${t.protocol} ${t.operation} ${t.status}`).sort();
    assert.deepEqual(ops(replayed), ops(live));
  });
});

describe('capture under kernel buffer overflow', () => {
  it('counts kernel drops, reports gaps and marks what was cut short incomplete', async (t) => {
    requireTool('curl');
    requireKernelStats();
    const pair = await createNetnsPair();
    t.after(() => pair.destroy());
    const server = pair.spawnNode(pair.b, join(FIXTURES, 'capture-server.ts'), [
      String(SERVER_PORT),
      pair.b.ip,
    ]);
    await waitForLine(server, /^ready/);
    // A small kernel buffer, and the capture's event loop blocked while traffic flows.
    const capture = pair.spawnNode(pair.a, join(FIXTURES, 'capture-child.ts'), [
      pair.a.iface,
      pair.a.ip,
      'tcp',
      String(256 * 1024),
    ]);
    const captured = lines(capture);
    await waitForLine(capture, /"ready":true/);
    capture.stdin?.write('block 1500\n');
    // One keep-alive connection: a burst while the capture is blocked, a pause that outlasts
    // the block, then more requests whose sequence numbers reveal the hole.
    const base = `http://${pair.b.ip}:${SERVER_PORT}`;
    const urls = [
      ...Array.from({ length: 20 }, (_, i) => `${base}/echo/${i}`),
      `${base}/delay/2000`,
      ...Array.from({ length: 5 }, (_, i) => `${base}/echo/after${i}`),
    ];
    const bodyDir = mkdtempSync(join(tmpdir(), 'axom-drops-'));
    t.after(() => rmSync(bodyDir, { recursive: true, force: true }));
    const bodyFile = join(bodyDir, 'body');
    writeFileSync(bodyFile, 'z'.repeat(200_000));
    const args = urls.flatMap((u, i) => [
      ...(i === 0 ? [] : ['--next']),
      '-s',
      '-o',
      '/dev/null',
      ...(u.includes('/echo/') ? ['--data-binary', `@${bodyFile}`] : []),
      u,
    ]);
    const r = await pair.run(pair.a, ['curl', ...args], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    await until(() => captured.all().some((l) => (l as { blocked?: boolean }).blocked), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    capture.kill('SIGTERM');
    await new Promise((resolve) => capture.once('exit', resolve));
    const all = captured.all() as {
      tx?: SeenTx;
      counters?: Record<string, number>;
      stats?: { kernelDrops: number; kernelDropsKnown: boolean };
    }[];
    const counters = all.find((l) => l.counters)!.counters!;
    const stats = all.find((l) => l.stats)!.stats!;
    const txs = all.filter((l) => l.tx).map((l) => l.tx!);
    assert.equal(stats.kernelDropsKnown, true);
    assert.ok(stats.kernelDrops > 0, 'the kernel dropped packets');
    assert.equal(counters.kernelDrops, stats.kernelDrops, 'drops reach the pipeline counters');
    assert.ok((counters.gaps ?? 0) > 0, 'reassembly saw the holes');
    assert.ok(
      txs.some((tx) => !tx.complete) || txs.length < urls.length,
      'what was cut short is not reported complete',
    );
    assert.equal(counters.internalErrors, 0);
  });
});
