import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { bytes } from '../../../test/harness/pcap.ts';
import { drive, everySplit, recordingContext, type Step, testConn } from '../testing.ts';
import type { Transaction } from '../types.ts';
import { detectHttp1, http1 } from './index.ts';

const c = (s: string | Buffer, tsMs?: number): Step => ({
  side: 'client',
  bytes: typeof s === 'string' ? Buffer.from(s, 'latin1') : s,
  ...(tsMs === undefined ? {} : { tsMs }),
});
const s = (x: string | Buffer, tsMs?: number): Step => ({
  side: 'server',
  bytes: typeof x === 'string' ? Buffer.from(x, 'latin1') : x,
  ...(tsMs === undefined ? {} : { tsMs }),
});

/** What must not depend on how the bytes were segmented. */
function summary(txs: Transaction[]): unknown[] {
  return txs.map((t) => ({
    op: t.operation,
    status: t.status,
    req: t.requestBytes,
    res: t.responseBytes,
    complete: t.complete,
    reqBody: t.request?.body?.toString('latin1'),
    resBody: t.response?.body?.toString('latin1'),
    truncated: t.response?.bodyTruncated,
    events: t.response?.events?.map((e) => [e.event, e.data]),
  }));
}

function whole(steps: Step[], limits = {}): Transaction[] {
  return drive(http1, steps, () => [], limits).transactions;
}

/** Asserts that splitting any one step at any offset gives the same transactions. */
function assertSplitInvariant(steps: Step[], limits = {}): void {
  const expected = summary(whole(steps, limits));
  for (const [i, off] of everySplit(steps)) {
    const got = drive(http1, steps, (_st, k) => (k === i ? [off] : []), limits);
    assert.deepEqual(summary(got.transactions), expected, `step ${i} split at ${off}`);
    assert.deepEqual(got.parseErrors, [], `step ${i} split at ${off}`);
  }
  // And byte by byte.
  const tiny = drive(http1, steps, (st) => Array.from({ length: st.bytes.length }, (_, k) => k), limits);
  assert.deepEqual(summary(tiny.transactions), expected, 'byte by byte');
}

describe('http1 detection', () => {
  it('recognizes request lines and status lines by content', () => {
    assert.equal(detectHttp1(Buffer.from('GET / HTTP/1.1\r\n'), 'client'), 'match');
    assert.equal(detectHttp1(Buffer.from('PO'), 'client'), 'need-more');
    assert.equal(detectHttp1(Buffer.from('PROPFIND /x HTTP/1.1\r\n'), 'client'), 'match');
    assert.equal(detectHttp1(Buffer.from('PROPFIND /x'), 'client'), 'need-more');
    assert.equal(detectHttp1(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 'client'), 'no');
    assert.equal(detectHttp1(Buffer.from([0x16, 0x03, 0x01]), 'client'), 'no');
    assert.equal(detectHttp1(Buffer.from('HTTP/1.1 200 OK\r\n'), 'server'), 'match');
    assert.equal(detectHttp1(Buffer.from('HTT'), 'server'), 'need-more');
    assert.equal(detectHttp1(Buffer.from('\x00\x00\x00\x08'), 'server'), 'no');
  });
});

describe('http1 keep-alive, pipelining and framing', () => {
  const steps = [
    c('GET /v1/models?key=secret HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: t\r\n\r\n', 1000),
    s(
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"data":[1,2]}'.replace(
        '13',
        '14',
      ),
      1010,
    ),
    c(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 11\r\n\r\n{"a":"bcd"}' +
        'PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: 1\r\n\r\n',
      1020,
    ),
    s(
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' +
        'HTTP/1.1 204 No Content\r\n\r\n',
      1050,
    ),
  ];

  it('pairs requests and responses in order with sizes, bodies and latency', () => {
    const txs = whole(steps);
    assert.equal(txs.length, 3);
    const [a, b, d] = txs as [Transaction, Transaction, Transaction];
    assert.equal(a.operation, 'GET /v1/models');
    assert.equal(a.http?.path, '/v1/models', 'the query string never leaves the parser');
    assert.equal(a.http?.host, 'api.example.com');
    assert.equal(a.status, 200);
    assert.equal(a.response?.body?.toString(), '{"data":[1,2]}');
    assert.equal(a.startMs, 1000);
    assert.equal(a.endMs, 1010);
    assert.equal(a.requestBytes, steps[0]!.bytes.length);
    assert.equal(a.responseBytes, steps[1]!.bytes.length);
    assert.equal(b.operation, 'POST /v1/chat/completions');
    assert.equal(b.request?.body?.toString(), '{"a":"bcd"}');
    assert.equal(b.response?.body?.toString(), 'hello');
    assert.equal(b.status, 201);
    assert.equal(d.operation, 'PUT /x');
    assert.equal(d.request?.body?.toString(), 'abcdefg');
    assert.equal(d.status, 204);
    assert.equal(d.response?.body, undefined);
    assert.equal(b.requestBytes + d.requestBytes, steps[2]!.bytes.length);
    assert.equal(b.responseBytes + d.responseBytes, steps[3]!.bytes.length);
    for (const t of txs) assert.equal(t.complete, true);
  });

  it('gives the same transactions however the bytes are split', () => {
    assertSplitInvariant(steps);
  });
});

describe('http1 bodies without length', () => {
  it('HEAD, 304 and 1xx have no body; a response without length reads until close', () => {
    const steps = [
      c(
        'HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n',
      ),
      s(
        'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n',
      ),
      c('hi'),
      s('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'),
    ];
    const txs = whole(steps);
    assert.deepEqual(
      txs.map((t) => [t.operation, t.status, t.complete, t.response?.body?.toString()]),
      [
        ['HEAD /a', 200, true, undefined],
        ['GET /b', 304, true, undefined],
        ['POST /c', 200, true, 'until the end'],
      ],
    );
    // The 100 Continue counts towards the response's bytes.
    assert.equal(txs[2]!.responseBytes, 'HTTP/1.1 100 Continue\r\n\r\n'.length + steps[3]!.bytes.length);
    assertSplitInvariant(steps);
  });
});

describe('http1 body limit and content-encoding', () => {
  const json = JSON.stringify({
    usage: { prompt_tokens: 12, completion_tokens: 34 },
    filler: 'x'.repeat(300),
  });
  for (const [name, encode] of [
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const) {
    it(`decodes ${name} bodies for body rules`, () => {
      const body = encode(Buffer.from(json));
      const steps = [
        c('GET / HTTP/1.1\r\n\r\n'),
        s(
          Buffer.concat([
            Buffer.from(
              `HTTP/1.1 200 OK\r\nContent-Encoding: ${name}\r\nContent-Length: ${body.length}\r\n\r\n`,
            ),
            body,
          ]),
        ),
      ];
      const [tx] = whole(steps);
      assert.equal(tx?.response?.body?.toString(), json);
      assert.equal(tx?.response?.bodyTruncated, undefined);
      assert.equal(tx?.responseBytes, steps[1]!.bytes.length);
    });
  }

  it('accepts raw deflate labelled deflate', () => {
    const body = deflateRawSync(Buffer.from(json));
    const steps = [
      c('GET / HTTP/1.1\r\n\r\n'),
      s(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: ${body.length}\r\n\r\n`,
          ),
          body,
        ]),
      ),
    ];
    assert.equal(whole(steps)[0]?.response?.body?.toString(), json);
  });

  it('keeps bodies up to the limit and marks the truncation, counting every byte', () => {
    const big = 'y'.repeat(5000);
    const steps = [
      c(`POST /up HTTP/1.1\r\nContent-Length: ${big.length}\r\n\r\n${big}`),
      s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
    ];
    const [tx] = whole(steps, { maxBodyBytes: 100 });
    assert.equal(tx?.request?.body?.length, 100);
    assert.equal(tx?.request?.bodyTruncated, true);
    assert.equal(tx?.requestBytes, steps[0]!.bytes.length);
    assert.equal(tx?.complete, true);
  });

  it('decodes the kept prefix of a truncated gzip body', () => {
    const text = 'abcdefghij'.repeat(2000);
    const body = gzipSync(Buffer.from(text));
    const steps = [
      c('GET / HTTP/1.1\r\n\r\n'),
      s(
        Buffer.concat([
          Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`),
          body,
        ]),
      ),
    ];
    const [tx] = whole(steps, { maxBodyBytes: 64 });
    assert.equal(tx?.response?.bodyTruncated, true);
    const got = tx?.response?.body?.toString() ?? '';
    assert.ok(text.startsWith(got), 'a prefix of the real body, or nothing');
  });
});

describe('http1 server-sent events', () => {
  it('parses a streaming completion incrementally with arrival times', () => {
    const events = [
      'event: message_start\ndata: {"type":"message_start"}\n\n',
      'data: {"delta":"Hel"}\r\n\r\n',
      ': keep-alive\n\n',
      'data: {"delta":"lo"}\ndata: second line\n\n',
      'data: [DONE]\n\n',
    ];
    const steps: Step[] = [
      c('POST /v1/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}', 100),
      s(
        'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n',
        200,
      ),
      ...events.map((e, i) => s(`${Buffer.byteLength(e).toString(16)}\r\n${e}\r\n`, 300 + i * 10)),
      s('0\r\n\r\n', 400),
    ];
    const [tx] = whole(steps);
    assert.deepEqual(
      tx?.response?.events?.map((e) => [e.event, e.data, e.atMs]),
      [
        ['message_start', '{"type":"message_start"}', 300],
        [undefined, '{"delta":"Hel"}', 310],
        [undefined, '{"delta":"lo"}\nsecond line', 330],
        [undefined, '[DONE]', 340],
      ],
    );
    assert.equal(tx?.response?.firstByteMs, 300);
    assert.equal(tx?.startMs, 100);
    assert.equal(tx?.endMs, 400);
    // Split invariance (ignoring arrival times, which follow the chunks).
    const steady = steps.map((st) => ({ side: st.side, bytes: st.bytes }));
    assertSplitInvariant(steady);
  });
});

describe('http1 upgrade', () => {
  it('switches to websocket with the bytes after the 101 on both sides', () => {
    const frame = Buffer.from([0x81, 0x02, 0x68, 0x69]);
    const steps = [
      c(
        Buffer.concat([
          Buffer.from(
            'GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n',
          ),
          frame,
        ]),
      ),
      s(
        Buffer.concat([
          Buffer.from(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n',
          ),
          frame,
        ]),
      ),
    ];
    for (const [i, off] of [[0, 0] as [number, number], ...everySplit(steps)]) {
      const rec = drive(http1, steps, (_st, k) => (k === i ? [off] : []));
      assert.equal(rec.transactions.length, 1);
      assert.equal(rec.transactions[0]?.status, 101);
      assert.equal(rec.switches.length, 1, `split ${i}/${off}`);
      const sw = rec.switches[0]!;
      assert.equal(sw.name, 'websocket');
      assert.equal(sw.handoff?.http?.path, '/ws');
      assert.equal(sw.handoff?.http?.responseHeaders?.['sec-websocket-extensions'], 'permessage-deflate');
      const clientCarry = Buffer.concat(sw.carry.filter((x) => x.side === 'client').map((x) => x.bytes));
      const serverCarry = Buffer.concat(sw.carry.filter((x) => x.side === 'server').map((x) => x.bytes));
      // Bytes split off into a later chunk reach the new protocol directly, not as carry.
      assert.ok(frame.subarray(0, clientCarry.length).equals(clientCarry));
      assert.ok(frame.subarray(0, serverCarry.length).equals(serverCarry));
    }
  });

  it('goes on with HTTP when the upgrade is refused', () => {
    const steps = [
      c('GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\n\r\n'),
      s('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
    ];
    const rec = drive(http1, steps, () => []);
    assert.deepEqual(
      rec.transactions.map((t) => [t.operation, t.status]),
      [
        ['GET /ws', 400],
        ['GET /next', 200],
      ],
    );
    assert.equal(rec.switches.length, 0);
  });

  it('hands a CONNECT tunnel to TLS', () => {
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0, 0, 0, 0]);
    const rec = drive(
      http1,
      [
        c('CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n'),
        s('HTTP/1.1 200 Connection established\r\n\r\n'),
        c(hello),
      ],
      () => [],
    );
    assert.equal(rec.transactions[0]?.operation, 'CONNECT api.openai.com:443');
    assert.equal(rec.switches[0]?.name, 'tls');
  });
});

describe('http1 losses and resynchronization', () => {
  it('a gap inside a body of known length keeps the framing: one incomplete, the next fine', () => {
    const { ctx, rec } = recordingContext();
    const session = http1.create(ctx);
    session.onData('client', Buffer.from('GET /a HTTP/1.1\r\n\r\n'), 1);
    session.onData('server', Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), 2);
    session.onGap('server', 4, 3);
    session.onData('server', Buffer.from('xyz'), 4);
    session.onData('client', Buffer.from('GET /b HTTP/1.1\r\n\r\n'), 5);
    session.onData('server', Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 6);
    session.onClose(7);
    assert.deepEqual(
      rec.transactions.map((t) => [t.operation, t.complete, t.responseBytes]),
      [
        ['GET /a', false, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'.length + 10],
        ['GET /b', true, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'.length],
      ],
    );
  });

  it('a gap in a chunked body aborts that exchange and resyncs at the next response', () => {
    const { ctx, rec } = recordingContext();
    const session = http1.create(ctx);
    session.onData('client', Buffer.from('GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n'), 1);
    session.onData('server', Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'), 2);
    session.onGap('server', 20, 3);
    session.onData(
      'server',
      Buffer.from('garbage\r\n0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'),
      4,
    );
    session.onClose(5);
    assert.deepEqual(
      rec.transactions.map((t) => [t.operation, t.status, t.complete]),
      [
        ['GET /a', 200, false],
        ['GET /b', 404, true],
      ],
    );
  });

  it('joins a connection mid-stream at the next message start', () => {
    const conn = testConn({ midstream: true });
    const rec = drive(
      http1,
      [
        c('tail of an old body\r\nGET /fresh HTTP/1.1\r\nHost: h\r\n\r\n'),
        s('old response tail...HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
      ],
      () => [],
      {},
      conn,
    );
    assert.deepEqual(
      rec.transactions.map((t) => [t.operation, t.status, t.complete]),
      [['GET /fresh', 200, true]],
    );
  });

  it('reports malformed messages with a code and recovers at the next message', () => {
    const rec = drive(
      http1,
      [
        c('GET /a HTTP/1.1\r\nContent-Length: 12x\r\n\r\nGET /b HTTP/1.1\r\n\r\n'),
        s('HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
      ],
      () => [],
    );
    assert.deepEqual(rec.parseErrors, [{ protocol: 'http', code: 'bad-content-length' }]);
    assert.deepEqual(
      rec.transactions.map((t) => [t.operation, t.status, t.complete]),
      [
        ['GET /a', 400, false],
        ['GET /b', 200, true],
      ],
    );
  });

  it('bounds heads: an endless header section is dropped with an error', () => {
    const rec = drive(http1, [c(`GET / HTTP/1.1\r\nX: ${'a'.repeat(100_000)}`)], () => [], {
      maxMessageBytes: 8192,
    });
    assert.deepEqual(rec.parseErrors, [{ protocol: 'http', code: 'head-too-large' }]);
  });

  it('emits requests still waiting at close as incomplete', () => {
    const rec = drive(http1, [c('GET /slow HTTP/1.1\r\n\r\n')], () => []);
    assert.deepEqual(
      rec.transactions.map((t) => [t.operation, t.complete, t.status]),
      [['GET /slow', false, undefined]],
    );
  });

  it('header names are data, never object keys of Object.prototype', () => {
    const rec = drive(
      http1,
      [
        c('GET / HTTP/1.1\r\n__proto__: x\r\nconstructor: y\r\n\r\n'),
        s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
      ],
      () => [],
    );
    const h = rec.transactions[0]?.http?.requestHeaders ?? {};
    assert.equal(h.constructor, 'y');
    assert.equal(Object.getPrototypeOf(h), null);
  });
});

describe('http1 fuzzing', () => {
  const valid = [
    c('POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello'),
    s(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n6\r\ndata: \r\n3\r\n1\n\n\r\n0\r\n\r\n',
    ),
  ];
  const parts = valid.map((st) => st.bytes);

  it('random bytes in random pieces never throw and stay bounded', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ client: fc.boolean(), data: fc.uint8Array({ maxLength: 300 }), gap: fc.nat(50) }),
          { maxLength: 30 },
        ),
        (steps) => {
          const { ctx, rec } = recordingContext({ maxBodyBytes: 256, maxMessageBytes: 4096 });
          const session = http1.create(ctx);
          let t = 0;
          for (const st of steps) {
            if (st.gap === 1) session.onGap(st.client ? 'client' : 'server', 100, t++);
            else session.onData(st.client ? 'client' : 'server', Buffer.from(st.data), t++);
          }
          session.onClose(t);
          for (const tx of rec.transactions) {
            assert.ok(
              (tx.request?.body?.length ?? 0) <= 256 ||
                tx.request?.headers?.['content-encoding'] !== undefined,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('valid traffic mutated at random spots and cut at random never throws', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (which, edits, cuts) => {
          const steps = valid.map((st) => ({ side: st.side, bytes: Buffer.from(st.bytes) }));
          const target = steps[which]!.bytes;
          for (const [at, v] of edits) target[at % target.length] = v;
          drive(http1, steps, (st) => cuts.map((k) => k % st.bytes.length));
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(parts.length, 2);
  });

  it('bytes helper builds what it says', () => {
    assert.deepEqual([...bytes().u8(1).u16(2).ascii('a').build()], [1, 0, 2, 0x61]);
  });
});
