/**
 * HTTP/2 over an HTTP/1.1 `Upgrade: h2c` on real traffic: curl (nghttp2) upgrades, the
 * server is hyper-h2 (fixtures/h2c-server.py; node:http2 cannot answer an Upgrade), tcpdump
 * records loopback, and the replay through the HTTP/1.1 and HTTP/2 parsers is compared
 * transfer by transfer with what curl reported (-w). The upgraded request is HTTP/2 stream 1
 * and is reported once, as `http2`, carrying the HTTP/1.1 request's bytes and body; the 101
 * exchange is not a transaction of its own. Connections: sequential reuse after the
 * upgrade, an upgrade carrying a request body, concurrent streams after an upgrade whose
 * stream 1 is larger than the flow-control window, an upgrade the server declines, and
 * plain HTTP/1.1 for contrast.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PrerequisiteError } from '../../lib/errors.ts';
import { http1 } from '../../sidecar/protocols/http1/index.ts';
import { http2Protocol } from '../../sidecar/protocols/http2/index.ts';
import type { Transaction } from '../../sidecar/protocols/types.ts';
import { ManagedProcess } from '../harness/process.ts';
import {
  type Replayed,
  replayCapture,
  requireCommands,
  startWireCapture,
  type WireCapture,
} from '../harness/wirecapture.ts';

const run = promisify(execFile);
const SERVER = join(import.meta.dirname, 'fixtures', 'h2c-server.py');
/** What the server writes to switch: the 101 head is part of stream 1's response bytes. */
const SWITCHING = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n';
/** HTTP/2 frame header: every HEADERS and DATA frame adds it on the wire. */
const FRAME_HEADER = 9;
/** curl's per-transfer report; one line per URL. */
const WRITE_OUT =
  '%{method}\\t%{url_effective}\\t%{http_code}\\t%{http_version}\\t%{size_download}\\t%{size_upload}\\t%{size_request}\\t%{num_connects}\\n';

/** One transfer as curl saw it. */
interface Transfer {
  method: string;
  path: string;
  status: number;
  httpVersion: string;
  downloaded: number;
  uploaded: number;
  /** Request bytes curl sent (for the upgrade request: exactly its HTTP/1.1 head and body). */
  requestSent: number;
  newConnections: number;
}

async function startServer(dir: string): Promise<{ port: number; proc: ManagedProcess }> {
  requireCommands(['python3'], 'apt-get install python3');
  try {
    await run('python3', ['-c', 'import h2.connection'], { timeout: 20_000 });
  } catch {
    throw new PrerequisiteError(
      'Python package h2 (hyper-h2) is not installed: run scripts/setup.sh or pip install h2==4.4.1',
    );
  }
  const proc = new ManagedProcess({
    name: 'h2c-server',
    command: 'python3',
    args: ['-u', SERVER],
    logFile: join(dir, 'h2c-server.log'),
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = /listening (\d+)/.exec(proc.tail(5));
    if (m !== null) return { port: Number(m[1]), proc };
    if (!proc.running || Date.now() > deadline) {
      await proc.stop();
      throw new Error(`h2c server did not start (${proc.exitDescription}):\n${proc.tail()}`);
    }
    await sleep(50);
  }
}

/** Runs one curl command line (one connection) and parses its per-transfer report. */
async function curl(args: readonly string[]): Promise<Transfer[]> {
  const { stdout } = await run('curl', ['-sS', '--no-progress-meter', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [method, url, code, version, down, up, sent, connects] = line.split('\t');
      return {
        method: method!,
        path: new URL(url!).pathname,
        status: Number(code),
        httpVersion: version!,
        downloaded: Number(down),
        uploaded: Number(up),
        requestSent: Number(sent),
        newConnections: Number(connects),
      };
    });
}

/** The transaction fields that curl can vouch for. */
const seen = (t: Transfer) => ({
  protocol: t.httpVersion === '2' ? 'http2' : 'http',
  operation: `${t.method} ${t.path}`,
  status: t.status,
  requestBody: t.uploaded,
  responseBody: t.downloaded,
  complete: true,
});
const replayed = (tx: Transaction) => ({
  protocol: tx.protocol,
  operation: tx.operation,
  status: tx.status,
  requestBody: tx.request?.body?.length ?? 0,
  responseBody: tx.response?.body?.length ?? 0,
  complete: tx.complete,
});
const sorted = <T>(list: T[]): string[] => list.map((x) => JSON.stringify(x)).sort();

test('h2c Upgrade from curl to hyper-h2, captured and replayed', { timeout: 180_000 }, async (t) => {
  requireCommands(['curl'], 'apt-get install curl');
  const dir = await mkdtemp(join(tmpdir(), 'axom-h2c-'));
  let proc: ManagedProcess | undefined;
  let capture: WireCapture | undefined;
  // Processes first, then their files, whatever failed.
  t.after(async () => {
    try {
      await capture?.stop().catch(() => {});
      await proc?.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  const server = await startServer(dir);
  proc = server.proc;
  const port = server.port;
  capture = await startWireCapture(dir, 'h2c', port);
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const out = ['-o', '/dev/null'];
  const bodyFile = join(dir, 'body.bin');
  const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
  await writeFile(bodyFile, body);

  // 1. Upgrade on the first request, then two more requests on the same HTTP/2 connection.
  const reuse = await curl([
    '--http2',
    '-w',
    WRITE_OUT,
    ...out,
    url('/bytes/2'),
    ...out,
    url('/bytes/200000'),
    ...out,
    url('/missing'),
  ]);
  // 2. The upgrade request carries a body (curl sends it before the switch), then a GET.
  const posted = await curl([
    '--http2',
    '-w',
    WRITE_OUT,
    '--data-binary',
    `@${bodyFile}`,
    '-H',
    'content-type: application/octet-stream',
    ...out,
    url('/echo'),
    '--next',
    '--http2',
    '-w',
    WRITE_OUT,
    ...out,
    url('/bytes/5'),
  ]);
  // 3. Stream 1 larger than the 65,535-byte connection window; three streams at once after it.
  const parallel = await curl([
    '--http2',
    '--parallel',
    '-w',
    WRITE_OUT,
    ...out,
    url('/bytes/300000'),
    ...out,
    url('/bytes/100000'),
    ...out,
    url('/bytes/7'),
    ...out,
    url('/nope'),
  ]);
  // 4. The server ignores the Upgrade: the connection stays HTTP/1.1 (keep-alive).
  const declined = await curl([
    '--http2',
    '-w',
    WRITE_OUT,
    ...out,
    url('/h1/bytes/4'),
    ...out,
    url('/h1/echo'),
  ]);
  // 5. Plain HTTP/1.1, no Upgrade asked.
  const plain = await curl(['--http1.1', '-w', WRITE_OUT, ...out, url('/bytes/6')]);

  const runs = [reuse, posted, parallel, declined, plain];
  // What curl itself did: one connection per run, HTTP/2 exactly where the upgrade was accepted.
  for (const r of runs)
    assert.equal(
      r.reduce((n, x) => n + x.newConnections, 0),
      1,
      JSON.stringify(r),
    );
  for (const r of [reuse, posted, parallel])
    assert.deepEqual(new Set(r.map((x) => x.httpVersion)), new Set(['2']));
  for (const r of [declined, plain]) assert.deepEqual(new Set(r.map((x) => x.httpVersion)), new Set(['1.1']));
  assert.deepEqual(
    reuse.map((x) => [x.path, x.status, x.downloaded]),
    [
      ['/bytes/2', 200, 2],
      ['/bytes/200000', 200, 200_000],
      ['/missing', 404, 'not found: /missing'.length],
    ],
  );
  assert.deepEqual(
    posted.map((x) => [x.method, x.path, x.status, x.uploaded, x.downloaded]),
    [
      ['POST', '/echo', 201, body.length, body.length],
      ['GET', '/bytes/5', 200, 0, 5],
    ],
  );

  const file = await capture.stop();
  const { items, counters } = await replayCapture(file, [http1, http2Protocol]);
  // Connections in the order they started, which is the order curl ran.
  const byConn = new Map<number, Replayed[]>();
  for (const i of items) byConn.set(i.conn.client.port, [...(byConn.get(i.conn.client.port) ?? []), i]);
  const conns = [...byConn.values()]
    .map((list) => list.map((i) => i.tx))
    .sort((a, b) => Math.min(...a.map((x) => x.startMs)) - Math.min(...b.map((x) => x.startMs)));
  const debug = () =>
    JSON.stringify({
      conns: conns.map((l) => l.map((tx) => [tx.protocol, tx.operation, tx.status, tx.complete])),
      errors: [...counters.parseErrorsBy.entries()],
      counters: counters.snapshot(),
    });
  assert.equal(conns.length, runs.length, debug());
  const [reuseTx, postedTx, parallelTx, declinedTx, plainTx] = conns as [
    Transaction[],
    Transaction[],
    Transaction[],
    Transaction[],
    Transaction[],
  ];

  // Sequential requests finish in order: compared transaction by transaction, and the
  // upgraded request is there once (no separate `101` HTTP/1.1 transaction).
  assert.deepEqual(reuseTx.map(replayed), reuse.map(seen), debug());
  assert.deepEqual(postedTx.map(replayed), posted.map(seen), debug());
  assert.deepEqual(declinedTx.map(replayed), declined.map(seen), debug());
  assert.deepEqual(plainTx.map(replayed), plain.map(seen), debug());
  // Concurrent streams end in any order (curl reports them as they end, too).
  assert.equal(parallel.find((x) => x.path === '/bytes/300000')?.newConnections, 1, 'the upgrade went first');
  assert.deepEqual(sorted(parallelTx.map(replayed)), sorted(parallel.map(seen)), debug());
  for (const list of [reuseTx, postedTx, parallelTx, declinedTx, plainTx])
    assert.ok(
      list.every((tx) => tx.status !== 101),
      'no transaction is the 101 exchange itself',
    );

  // Stream 1 of each upgraded connection: the HTTP/1.1 request, bytes and all.
  const upgrades: [Transaction, Transfer][] = [
    [reuseTx[0]!, reuse[0]!],
    [postedTx[0]!, posted[0]!],
    [
      parallelTx.find((tx) => tx.operation === 'GET /bytes/300000')!,
      parallel.find((x) => x.path === '/bytes/300000')!,
    ],
  ];
  for (const [tx, t0] of upgrades) {
    assert.equal(tx.protocol, 'http2');
    assert.equal(tx.requestBytes, t0.requestSent, 'the HTTP/1.1 request as sent');
    assert.ok(
      tx.responseBytes >= SWITCHING.length + 2 * FRAME_HEADER + t0.downloaded,
      `101 head, HEADERS and DATA frames: ${tx.responseBytes}`,
    );
    assert.equal(tx.http?.host, `127.0.0.1:${port}`);
    assert.equal(tx.http?.requestHeaders?.upgrade, 'h2c');
    assert.match(tx.http?.requestHeaders?.['user-agent'] ?? '', /^curl\//);
    assert.equal(tx.http?.responseHeaders?.['x-request-id'], t0.path, 'HTTP/2 response headers');
    assert.equal(tx.http?.responseHeaders?.server, 'axom-h2c-test');
    assert.ok(tx.endMs >= tx.startMs);
  }
  assert.deepEqual(postedTx[0]!.request?.body, body, 'the upgrade request body');
  assert.deepEqual(postedTx[0]!.response?.body, body, 'echoed on stream 1');
  assert.equal(postedTx[0]!.http?.requestHeaders?.['content-type'], 'application/octet-stream');

  // Later streams: HPACK-decoded headers, each the right one.
  for (const tx of [...reuseTx.slice(1), ...postedTx.slice(1), ...parallelTx]) {
    assert.equal(tx.http?.host, `127.0.0.1:${port}`, debug());
    assert.equal(tx.http?.responseHeaders?.['x-request-id'], tx.http?.path);
    assert.ok(tx.responseBytes > (tx.response?.body?.length ?? 0));
  }
  const big = reuseTx.find((tx) => tx.operation === 'GET /bytes/200000')!;
  assert.equal(big.response?.body?.subarray(0, 20).toString(), 'abcdefghijabcdefghij');

  // The declined upgrade: HTTP/1.1 both times, the held bytes released, nothing switched.
  assert.equal(declinedTx[0]!.http?.requestHeaders?.upgrade, 'h2c');
  assert.equal(declinedTx[0]!.http?.responseHeaders?.['x-request-id'], '/h1/bytes/4');

  assert.equal(counters.parseErrorTotal, 0, debug());
  assert.equal(counters.internalErrors, 0, debug());
  assert.equal(counters.snapshot().droppedBytes, 0, debug());
});
