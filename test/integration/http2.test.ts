/**
 * HTTP/2 cleartext (h2c with prior knowledge) against a real node:http2 server, driven by
 * node:http2 and curl (nghttp2): many requests on one connection (HPACK dynamic table),
 * request and response bodies over many DATA frames, a response larger than the
 * flow-control window, gzip, a 404, and a request the client resets. tcpdump records the
 * traffic; the replay is compared request by request with what the client saw.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { http2Protocol } from '../../sidecar/protocols/http2/index.ts';
import type { Transaction } from '../../sidecar/protocols/types.ts';
import { freePort, replayCapture, requireCommands, startWireCapture } from '../harness/wirecapture.ts';

/** Bigger than the default 65,535-byte flow-control window, so WINDOW_UPDATEs must flow. */
const BIG = Buffer.alloc(400_000, 'abcdefghij');
const JSON_BODY = JSON.stringify({
  model: 'm',
  messages: Array.from({ length: 2000 }, (_, i) => ({ role: 'user', content: `message ${i}` })),
});

interface Seen {
  operation: string;
  status: number | undefined;
  responseLength: number | undefined;
  requestLength: number;
  complete: boolean;
}

const step = (s: string) => process.env.AXOM_DEBUG && console.error('step', s);

test('http2: h2c from node:http2 and curl, captured and replayed', { timeout: 120_000 }, async (t) => {
  step('start');
  requireCommands(['curl'], 'apt-get install curl');
  const dir = await mkdtemp(join(tmpdir(), 'axom-h2-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const path = headers[':path'] ?? '/';
    const reply = (h: http2.OutgoingHttpHeaders, body?: string | Buffer): void => {
      stream.respond(h);
      stream.end(body);
    };
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('end', () => {
      if (path.startsWith('/small'))
        reply({ ':status': 200, 'content-type': 'text/plain', 'x-request-id': headers['x-call-id'] }, 'ok');
      else if (path === '/big') reply({ ':status': 200, 'content-type': 'application/octet-stream' }, BIG);
      else if (path === '/echo')
        reply({ ':status': 201, 'content-type': 'application/json' }, Buffer.concat(chunks));
      else if (path === '/gzip')
        reply({ ':status': 200, 'content-type': 'text/plain', 'content-encoding': 'gzip' }, gzipSync(BIG));
      else if (path !== '/slow') reply({ ':status': 404 });
      // '/slow' never answers: the client resets the stream.
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  step('listening');
  const capture = await startWireCapture(dir, 'h2', port);
  step('capturing');
  t.after(() => capture.stop());

  const session = http2.connect(`http://127.0.0.1:${port}`);
  t.after(() => session.destroy());
  const seen: Seen[] = [];
  const call = (
    method: string,
    path: string,
    body?: string | Buffer,
    extra: Record<string, string> = {},
  ): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const req = session.request({
        ':method': method,
        ':path': path,
        'user-agent': 'axom-test',
        authorization: 'Bearer sk-test-secret',
        // Echoed back by the server: pairs each response with its request through HPACK.
        'x-call-id': path,
        ...extra,
      });
      let status: number | undefined;
      const chunks: Buffer[] = [];
      req.on('response', (h) => {
        status = Number(h[':status']);
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', reject);
      req.on('end', () => {
        const res = Buffer.concat(chunks);
        seen.push({
          operation: `${method} ${path.split('?')[0]}`,
          status,
          responseLength: res.length,
          requestLength: body === undefined ? 0 : Buffer.byteLength(body),
          complete: true,
        });
        resolve(res);
      });
      req.end(body);
    });

  for (let i = 0; i < 20; i++) await call('GET', `/small?i=${i}`);
  step('small');
  assert.deepEqual(await call('GET', '/big'), BIG);
  assert.equal(
    (await call('POST', '/echo', JSON_BODY, { 'content-type': 'application/json' })).toString(),
    JSON_BODY,
  );
  step('echo');
  assert.deepEqual(gunzipSync(await call('GET', '/gzip')), BIG);
  // The client saw the gzip bytes; the sidecar's Payload carries the body with content-encoding removed.
  seen[seen.length - 1]!.responseLength = BIG.length;
  await call('GET', '/missing');
  step('missing');
  // Concurrent streams, answered out of order relative to their start.
  await Promise.all([call('GET', '/small?c=1'), call('GET', '/big'), call('GET', '/small?c=2')]);
  await new Promise<void>((resolve) => {
    const req = session.request({ ':method': 'GET', ':path': '/slow' });
    req.on('error', () => {});
    req.on('close', () => resolve());
    setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), 100);
  });
  seen.push({
    operation: 'GET /slow',
    status: undefined,
    responseLength: undefined,
    requestLength: 0,
    complete: false,
  });
  step('slow');
  session.close();

  // curl (nghttp2's encoder) with prior knowledge on its own connection.
  // The server lives in this process: curl must run asynchronously.
  const curl = await promisify(execFile)(
    'curl',
    [
      '-sS',
      '--http2-prior-knowledge',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `http://127.0.0.1:${port}/small?curl=1`,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(curl.stdout, '200', curl.stderr);

  step('curl');
  const file = await capture.stop();
  step('stopped');
  const { items, counters } = await replayCapture(file, [http2Protocol]);
  const byConn = new Map<number, Transaction[]>();
  for (const i of items) byConn.set(i.conn.client.port, [...(byConn.get(i.conn.client.port) ?? []), i.tx]);
  const debug = () =>
    JSON.stringify({
      conns: [...byConn.values()].map((l) => l.map((tx) => [tx.operation, tx.status, tx.complete])),
      errors: [...counters.parseErrorsBy.values()],
      counters: counters.snapshot(),
    });
  assert.equal(byConn.size, 2, debug());
  const [main, viaCurl] = [...byConn.values()].sort((a, b) => b.length - a.length);

  const view = (tx: Transaction): Seen => ({
    operation: tx.operation ?? '?',
    status: typeof tx.status === 'number' ? tx.status : undefined,
    responseLength: tx.response?.body?.length ?? (tx.complete ? 0 : undefined),
    requestLength: tx.request?.body?.length ?? 0,
    complete: tx.complete,
  });
  // Streams finish in the order their responses end; compare as multisets keyed by stream order.
  const key = (s: Seen) => JSON.stringify(s);
  assert.deepEqual(main!.map(view).map(key).sort(), seen.map(key).sort(), debug());
  for (const tx of main!) {
    assert.equal(tx.protocol, 'http2');
    assert.ok(tx.endMs >= tx.startMs);
    if (!tx.complete) continue;
    assert.equal(tx.http?.host, `127.0.0.1:${port}`);
    assert.equal(tx.http?.requestHeaders?.['user-agent'], 'axom-test');
    assert.equal(
      tx.http?.requestHeaders?.authorization,
      'Bearer sk-test-secret',
      'raw for the redactor; never exported as is',
    );
  }
  const small = main!.filter((tx) => tx.operation === 'GET /small');
  assert.deepEqual(
    small.map((tx) => tx.http?.responseHeaders?.['x-request-id']),
    small.map((tx) => tx.http?.requestHeaders?.['x-call-id']),
    'per-request headers decoded from the dynamic table are the right ones',
  );
  assert.equal(new Set(small.map((tx) => tx.http?.requestHeaders?.['x-call-id'])).size, small.length);
  assert.ok(
    small.every((tx) => tx.http?.path === '/small'),
    'the query string stays out of the signal',
  );
  const gz = main!.find((tx) => tx.operation === 'GET /gzip')!;
  assert.deepEqual(gz.response?.body, BIG, 'content-encoding removed');
  const bigs = main!.filter((tx) => tx.operation === 'GET /big');
  for (const b of bigs) {
    assert.deepEqual(b.response?.body, BIG);
    assert.ok(b.responseBytes > BIG.length);
  }
  assert.deepEqual(viaCurl!.map(view), [
    { operation: 'GET /small', status: 200, responseLength: 2, requestLength: 0, complete: true },
  ]);
  assert.equal(counters.parseErrorTotal, 0, debug());
  assert.equal(counters.internalErrors, 0);
});
