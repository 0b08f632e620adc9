/**
 * h2c Upgrade through the real dispatcher: the HTTP/1.1 session reads the upgrade request
 * and the 101, hands the connection (and the exchange) to the HTTP/2 session, and stream 1
 * reports the upgraded request once. Every message split at every offset, and random
 * segmentation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { silentLogger } from '../../../lib/log.ts';
import { http1 } from '../http1/index.ts';
import { createDispatcher } from '../registry.ts';
import { everySplit, type Step, testConn } from '../testing.ts';
import type { Transaction } from '../types.ts';
import { H2Bytes } from './fixtures.ts';
import { http2Protocol } from './index.ts';

const UPGRADE_HEADERS =
  'Host: h\r\nUser-Agent: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n';
const GET_UPGRADE = `GET /up?q=1 HTTP/1.1\r\n${UPGRADE_HEADERS}\r\n`;
const POST_UPGRADE = `POST /up HTTP/1.1\r\n${UPGRADE_HEADERS}Content-Length: 11\r\n\r\nhello world`;
const SWITCHED = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n';

interface Run {
  txs: Transaction[];
  errors: string[];
}

/** A step, or bytes the capture lost on one side. */
type Event = Step | { side: Step['side']; gap: number };

function drive(steps: readonly Event[], cuts: (step: Step, i: number) => number[]): Run {
  const txs: Transaction[] = [];
  const errors: string[] = [];
  const protocols = [http1, http2Protocol];
  const d = createDispatcher({
    conn: testConn(),
    protocols,
    lookup: (name) => protocols.find((p) => p.name === name),
    limits: { maxBodyBytes: 1 << 20, maxMessageBytes: 1 << 20 },
    counters: {
      parseError: (p, code) => errors.push(`${p}:${code}`),
      notParsed: (p, reason) => errors.push(`not-parsed ${p}:${reason}`),
      dropped: (p, reason) => errors.push(`dropped ${p}:${reason}`),
    },
    log: silentLogger,
    emit: (tx) => txs.push(tx),
  });
  let ts = 1000;
  steps.forEach((step, i) => {
    if ('gap' in step) {
      d.onGap(step.side, step.gap, ts);
      return;
    }
    const at = [0, ...cuts(step, i).filter((c) => c > 0 && c < step.bytes.length), step.bytes.length];
    for (let k = 0; k + 1 < at.length; k++) {
      // A scratch copy overwritten afterwards, like a reused capture buffer.
      const scratch = Buffer.from(step.bytes.subarray(at[k], at[k + 1]));
      if (scratch.length > 0) d.onData(step.side, scratch, ts);
      scratch.fill(0xee);
    }
    ts += 10;
  });
  d.onClose(ts);
  return { txs, errors };
}

/** An upgrade (GET or POST), stream 1 answered in the 101's segment, then stream 3. */
function conversation(request: string) {
  const c = new H2Bytes();
  const s = new H2Bytes();
  const settings = s.settings([[4, 1 << 20]]).build();
  const s1 = s
    .headers(1, [
      [':status', '200'],
      ['x-id', 'one'],
    ])
    .data(1, 'first', { endStream: true })
    .build();
  const s3 = s
    .headers(3, [
      [':status', '404'],
      ['x-id', 'three'],
    ])
    .data(3, 'second!', { endStream: true })
    .build();
  const steps: Step[] = [
    { side: 'client', bytes: Buffer.from(request) },
    { side: 'server', bytes: Buffer.concat([Buffer.from(SWITCHED), settings, s1]) },
    {
      side: 'client',
      bytes: c
        .preface()
        .settings()
        .settings([], true)
        .headers(
          3,
          [
            [':method', 'GET'],
            [':scheme', 'http'],
            [':path', '/next'],
            [':authority', 'h'],
          ],
          { endStream: true },
        )
        .build(),
    },
    { side: 'server', bytes: Buffer.concat([s.settings([], true).build(), s3]) },
  ];
  return { steps, stream1ResponseBytes: SWITCHED.length + s1.length };
}

const view = (t: Transaction) => ({
  protocol: t.protocol,
  operation: t.operation,
  status: t.status,
  complete: t.complete,
  requestBytes: t.requestBytes,
  responseBytes: t.responseBytes,
  request: t.request?.body?.toString(),
  response: t.response?.body?.toString(),
  id: t.http?.responseHeaders?.['x-id'],
});

function expected(request: string, stream1ResponseBytes: number, body?: string) {
  const first = {
    protocol: 'http2',
    operation: `${request.slice(0, request.indexOf(' '))} /up`,
    status: 200,
    complete: true,
    requestBytes: Buffer.byteLength(request),
    responseBytes: stream1ResponseBytes,
    request: body,
    response: 'first',
    id: 'one',
  };
  return [
    first,
    { protocol: 'http2', operation: 'GET /next', status: 404, complete: true, response: 'second!' },
  ];
}

/** A later stream: its byte counts are the plain HTTP/2 ones the session tests cover. */
function short(t: Transaction) {
  const { requestBytes: _q, responseBytes: _r, request: _b, id: _i, ...rest } = view(t);
  return rest;
}

for (const [name, request, body] of [
  ['GET', GET_UPGRADE, undefined],
  ['POST with a body', POST_UPGRADE, 'hello world'],
] as const) {
  test(`h2c upgrade (${name}): stream 1 is the upgraded request, reported once, at every split`, () => {
    const { steps, stream1ResponseBytes } = conversation(request);
    const want = expected(request, stream1ResponseBytes, body);
    const check = (r: Run, where: string) => {
      assert.deepEqual(r.errors, [], where);
      assert.deepEqual(
        r.txs.map((t, i) => (i === 0 ? view(t) : short(t))),
        want,
        where,
      );
    };
    const whole = drive(steps, () => []);
    check(whole, 'whole');
    assert.equal(whole.txs[0]!.startMs, 1000, 'the HTTP/1.1 request start');
    assert.equal(whole.txs[0]!.http?.requestHeaders?.upgrade, 'h2c');
    assert.equal(whole.txs[0]!.http?.host, 'h');
    for (const [i, off] of everySplit(steps))
      check(
        drive(steps, (_s, k) => (k === i ? [off] : [])),
        `${i}@${off}`,
      );
  });
}

test('h2c upgrade: random segmentation gives the same transactions', () => {
  const { steps, stream1ResponseBytes } = conversation(POST_UPGRADE);
  const want = drive(steps, () => []).txs.map(view);
  assert.deepEqual(want[0], expected(POST_UPGRADE, stream1ResponseBytes, 'hello world')[0]);
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 8 }), { minLength: 4, maxLength: 4 }),
      (cuts) => {
        const r = drive(steps, (_s, i) => [...cuts[i]!].sort((a, b) => a - b));
        assert.deepEqual(r.errors, []);
        assert.deepEqual(r.txs.map(view), want);
      },
    ),
    { numRuns: 200 },
  );
});

test('h2c upgrade declined: the server answers HTTP/1.1 and the connection stays HTTP/1.1', () => {
  const steps: Step[] = [
    { side: 'client', bytes: Buffer.from(GET_UPGRADE) },
    { side: 'server', bytes: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') },
    { side: 'client', bytes: Buffer.from('GET /again HTTP/1.1\r\nHost: h\r\n\r\n') },
    { side: 'server', bytes: Buffer.from('HTTP/1.1 204 No Content\r\n\r\n') },
  ];
  for (const [i, off] of [[-1, 0], ...everySplit(steps)] as [number, number][]) {
    const r = drive(steps, (_s, k) => (k === i ? [off] : []));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.txs.map((t) => [t.protocol, t.operation, t.status, t.complete, t.response?.body?.toString()]),
      [
        ['http', 'GET /up', 200, true, 'ok'],
        ['http', 'GET /again', 204, true, undefined],
      ],
      `${i}@${off}`,
    );
  }
});

test('h2c upgrade cut off after the 101: the request is reported once, incomplete', () => {
  const r = drive(
    [
      { side: 'client', bytes: Buffer.from(POST_UPGRADE) },
      { side: 'server', bytes: Buffer.from(SWITCHED) },
    ],
    () => [],
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.txs.map((t) => [t.protocol, t.operation, t.status, t.complete, t.request?.body?.toString()]),
    [['http2', 'POST /up', undefined, false, 'hello world']],
  );
  assert.equal(r.txs[0]!.requestBytes, Buffer.byteLength(POST_UPGRADE));
  assert.equal(r.txs[0]!.responseBytes, SWITCHED.length);
});

test('h2c upgrade: bytes lost in the HTTP/1.1 request body make stream 1 incomplete', () => {
  const { steps } = conversation(POST_UPGRADE);
  const head = POST_UPGRADE.length - 'hello world'.length;
  const r = drive(
    [
      { side: 'client', bytes: Buffer.from(POST_UPGRADE.slice(0, head + 5)) },
      { side: 'client', gap: 6 },
      ...steps.slice(1),
    ],
    () => [],
  );
  assert.deepEqual(
    r.txs.map((t) => [t.protocol, t.operation, t.status, t.complete, t.response?.body?.toString()]),
    [
      ['http2', 'POST /up', 200, false, 'first'],
      ['http2', 'GET /next', 404, true, 'second!'],
    ],
  );
});
