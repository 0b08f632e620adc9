import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { recordingContext } from '../postgres/fixtures.ts';
import { feedPieces, feedTurns, fuzzBytes, type Turn } from '../testing.ts';
import type { Side, Transaction } from '../types.ts';
import { grpcMessage, H2Bytes } from './fixtures.ts';
import * as F from './frames.ts';
import { detectHttp2, Http2Session } from './index.ts';

function run(
  steps: Turn[],
  split?: (b: Buffer) => Buffer[],
  opts: { midstream?: boolean; upgrade?: boolean } = {},
) {
  const rec = recordingContext({
    midstream: opts.midstream ?? false,
    server: { ip: '127.0.0.1', port: 8080 },
  });
  const s = new Http2Session(
    rec.ctx,
    opts.upgrade
      ? {
          upgradedRequest: {
            method: 'GET',
            path: '/up',
            host: 'h',
            headers: { accept: '*/*' },
            startMs: 900,
            requestBytes: 80,
          },
        }
      : {},
  );
  feedTurns(s, steps, split);
  return { rec, session: s };
}

const view = (t: Transaction) => ({
  protocol: t.protocol,
  op: t.operation,
  status: t.status,
  complete: t.complete,
  grpc: t.grpc,
  reqBody: t.request?.body?.toString(),
  resBody: t.response?.body?.toString(),
});

function conversation(): Turn[] {
  const c = new H2Bytes();
  const s = new H2Bytes();
  const big = 'x'.repeat(40_000);
  return [
    [
      'client',
      c
        .preface()
        .settings([[F.SETTINGS_HEADER_TABLE_SIZE, 4096]])
        .build(),
    ],
    [
      'server',
      s
        .settings([[F.SETTINGS_MAX_FRAME_SIZE, 16384]])
        .settings([], true)
        .build(),
    ],
    // 1: GET, Huffman headers split over CONTINUATIONs, padded + priority
    [
      'client',
      c
        .headers(
          1,
          [
            [':method', 'GET'],
            [':scheme', 'http'],
            [':path', '/v1/models?x=1'],
            [':authority', 'api.test'],
            ['authorization', 'Bearer sk-1'],
          ],
          {
            endStream: true,
            pieces: 3,
            padding: 4,
            priority: true,
          },
        )
        .build(),
    ],
    // response body over several DATA frames (one padded), gzip-encoded
    [
      'server',
      (() => {
        const gz = gzipSync(big);
        const third = Math.ceil(gz.length / 3);
        return s
          .headers(1, [
            [':status', '200'],
            ['content-type', 'text/plain'],
            ['content-encoding', 'gzip'],
          ])
          .data(1, gz.subarray(0, third))
          .data(1, gz.subarray(third, 2 * third), { padding: 7 })
          .data(1, gz.subarray(2 * third), { endStream: true })
          .build();
      })(),
    ],
    // 3: POST JSON, repeated headers via the dynamic table (indexed this time)
    [
      'client',
      c
        .headers(3, [
          [':method', 'POST'],
          [':scheme', 'http'],
          [':path', '/v1/chat'],
          [':authority', 'api.test'],
          ['content-type', 'application/json'],
        ])
        .data(3, '{"a":')
        .data(3, '1}', { endStream: true })
        .build(),
    ],
    [
      'server',
      s
        .headers(3, [[':status', '100']])
        .headers(3, [
          [':status', '201'],
          ['content-type', 'application/json'],
        ])
        .data(3, '{"ok":true}', { endStream: true })
        .build(),
    ],
    // 5: gRPC unary, message split across DATA frames, trailers with status 0
    [
      'client',
      (() => {
        const m = grpcMessage('hello-proto');
        return c
          .headers(5, [
            [':method', 'POST'],
            [':scheme', 'http'],
            [':path', '/pkg.Greeter/SayHello'],
            [':authority', 'g'],
            ['content-type', 'application/grpc'],
            ['te', 'trailers'],
          ])
          .data(5, m.subarray(0, 3))
          .data(5, m.subarray(3), { endStream: true })
          .build();
      })(),
    ],
    [
      'server',
      s
        .headers(5, [
          [':status', '200'],
          ['content-type', 'application/grpc'],
        ])
        .data(5, Buffer.concat([grpcMessage('r1'), grpcMessage('r2', true)]))
        .headers(5, [['grpc-status', '0']], { endStream: true })
        .build(),
    ],
    // 7: gRPC Trailers-Only error
    [
      'client',
      c
        .headers(7, [
          [':method', 'POST'],
          [':scheme', 'http'],
          [':path', '/pkg.Greeter/Missing'],
          [':authority', 'g'],
          ['content-type', 'application/grpc'],
        ])
        .data(7, grpcMessage('q'), { endStream: true })
        .build(),
    ],
    [
      'server',
      s
        .headers(
          7,
          [
            [':status', '200'],
            ['content-type', 'application/grpc'],
            ['grpc-status', '5'],
            ['grpc-message', 'no%20such%20thing'],
          ],
          { endStream: true },
        )
        .build(),
    ],
    // 9: gRPC cancelled by the client with RST_STREAM(CANCEL); 11: refused by GOAWAY
    [
      'client',
      c
        .headers(9, [
          [':method', 'POST'],
          [':scheme', 'http'],
          [':path', '/pkg.Greeter/Stream'],
          [':authority', 'g'],
          ['content-type', 'application/grpc'],
        ])
        .data(9, grpcMessage('a'))
        .data(9, grpcMessage('b'))
        .headers(
          11,
          [
            [':method', 'GET'],
            [':scheme', 'http'],
            [':path', '/late'],
            [':authority', 'api.test'],
          ],
          { endStream: true },
        )
        .build(),
    ],
    [
      'server',
      s
        .headers(9, [
          [':status', '200'],
          ['content-type', 'application/grpc'],
        ])
        .data(9, grpcMessage('c'))
        .ping()
        .windowUpdate(0, 100)
        .build(),
    ],
    ['client', c.rst(9, F.E_CANCEL).build()],
    ['server', s.goaway(9).build()],
  ];
}

const expected = [
  {
    protocol: 'http2',
    op: 'GET /v1/models',
    status: 200,
    complete: true,
    grpc: undefined,
    reqBody: undefined,
    resBody: 'x'.repeat(40_000),
  },
  {
    protocol: 'http2',
    op: 'POST /v1/chat',
    status: 201,
    complete: true,
    grpc: undefined,
    reqBody: '{"a":1}',
    resBody: '{"ok":true}',
  },
  {
    protocol: 'grpc',
    op: '/pkg.Greeter/SayHello',
    status: 0,
    complete: true,
    grpc: {
      service: 'pkg.Greeter',
      method: 'SayHello',
      statusCode: 0,
      requestMessages: 1,
      responseMessages: 2,
    },
    reqBody: grpcMessage('hello-proto').toString(),
    resBody: Buffer.concat([grpcMessage('r1'), grpcMessage('r2', true)]).toString(),
  },
  {
    protocol: 'grpc',
    op: '/pkg.Greeter/Missing',
    status: 5,
    complete: true,
    grpc: {
      service: 'pkg.Greeter',
      method: 'Missing',
      statusCode: 5,
      statusMessage: 'no such thing',
      requestMessages: 1,
      responseMessages: 0,
    },
    reqBody: grpcMessage('q').toString(),
    resBody: undefined,
  },
  {
    protocol: 'grpc',
    op: '/pkg.Greeter/Stream',
    status: 1,
    complete: false,
    grpc: {
      service: 'pkg.Greeter',
      method: 'Stream',
      statusCode: 1,
      requestMessages: 2,
      responseMessages: 1,
    },
    reqBody: Buffer.concat([grpcMessage('a'), grpcMessage('b')]).toString(),
    resBody: grpcMessage('c').toString(),
  },
  {
    protocol: 'http2',
    op: 'GET /late',
    status: undefined,
    complete: false,
    grpc: undefined,
    reqBody: undefined,
    resBody: undefined,
  },
];

test('a whole connection: CONTINUATION, padding, priority, gzip, 1xx, gRPC, RST_STREAM, GOAWAY', () => {
  const conv = conversation();
  const { rec } = run(conv);
  assert.deepEqual(rec.txs.map(view), expected);
  assert.deepEqual(rec.errors, []);
  const first = rec.txs[0]!;
  assert.equal(first.http?.host, 'api.test');
  assert.equal(first.http?.path, '/v1/models', 'the query string never leaves the parser');
  assert.equal(first.http?.requestHeaders?.authorization, 'Bearer sk-1');
  assert.equal(first.response?.contentType, 'text/plain');
  // every frame of those steps belongs to stream 1
  assert.equal(first.requestBytes, conv[2]![1].length);
  assert.equal(first.responseBytes, conv[3]![1].length);
  assert.equal(first.startMs, 1020);
  assert.equal(first.endMs, 1030);
});

test('every frame sequence split at every offset gives the same transactions', () => {
  const conv = conversation();
  for (let i = 0; i < conv.length; i++) {
    const target = conv[i]![1];
    // Large bodies: step through offsets sparsely but always hit every frame header region.
    const stride = target.length > 2000 ? 97 : 1;
    for (let k = 1; k < target.length; k += stride) {
      const { rec } = run(conversation(), (b) =>
        b.equals(target) ? [b.subarray(0, k), b.subarray(k)] : [b],
      );
      assert.deepEqual(rec.txs.map(view), expected, `step ${i} split at ${k}`);
    }
  }
});

test('byte-by-byte delivery', () => {
  const { rec } = run(conversation(), (b) => (b.length > 5000 ? [b] : [...b].map((x) => Buffer.from([x]))));
  assert.deepEqual(rec.txs.map(view), expected);
});

test('joined midway: HPACK state unknown → streams incomplete, no guessed headers', () => {
  const c = new H2Bytes();
  const s = new H2Bytes();
  // The connection was already going: both encoders have entries we never saw.
  c.headers(1, [
    [':method', 'POST'],
    [':path', '/secret'],
    [':authority', 'a'],
    ['x-custom', 'one'],
  ]);
  s.headers(1, [
    [':status', '200'],
    ['x-server', 'v'],
  ]);
  c.build();
  s.build();
  const steps: Turn[] = [
    [
      'client',
      Buffer.concat([
        Buffer.from([1, 2, 3]),
        c
          .headers(
            3,
            [
              [':method', 'POST'],
              [':path', '/secret'],
              [':authority', 'a'],
              ['x-custom', 'one'],
            ],
            { endStream: true },
          )
          .build(),
        c.ping().build(),
      ]),
    ],
    [
      'server',
      s
        .headers(3, [
          [':status', '200'],
          ['x-server', 'v'],
        ])
        .data(3, 'body', { endStream: true })
        .build(),
    ],
  ];
  const { rec } = run(steps, undefined, { midstream: true });
  assert.equal(rec.txs.length, 1);
  const tx = rec.txs[0]!;
  assert.equal(tx.complete, false);
  assert.equal(tx.http?.path, undefined);
  assert.equal(tx.http?.requestHeaders, undefined);
  assert.equal(tx.operation, undefined);
});

test('h2c upgrade: stream 1 is the upgraded request', () => {
  const c = new H2Bytes();
  const s = new H2Bytes();
  const { rec } = run(
    [
      ['client', c.preface().settings().build()],
      [
        'server',
        s
          .settings()
          .headers(1, [[':status', '200']])
          .data(1, 'upgraded!', { endStream: true })
          .build(),
      ],
      [
        'client',
        c
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
      ],
      ['server', s.headers(3, [[':status', '204']], { endStream: true }).build()],
    ],
    undefined,
    { upgrade: true },
  );
  assert.deepEqual(
    rec.txs.map((t) => [t.operation, t.status, t.complete, t.response?.body?.toString()]),
    [
      ['GET /up', 200, true, 'upgraded!'],
      ['GET /next', 204, true, undefined],
    ],
  );
  assert.equal(rec.txs[0]!.startMs, 900);
});

test('a gap marks open streams incomplete and forgets HPACK state', () => {
  const rec = recordingContext();
  const sess = new Http2Session(rec.ctx);
  const c = new H2Bytes();
  const s = new H2Bytes();
  sess.onData(
    'client',
    c
      .preface()
      .settings()
      .headers(
        1,
        [
          [':method', 'GET'],
          [':scheme', 'http'],
          [':path', '/a'],
          [':authority', 'h'],
        ],
        { endStream: true },
      )
      .build(),
    1,
  );
  sess.onGap('server', 500, 2);
  sess.onData(
    'server',
    s
      .headers(1, [[':status', '200']])
      .data(1, 'x', { endStream: true })
      .build(),
    3,
  );
  sess.onClose(4);
  assert.equal(rec.txs.length, 1);
  assert.equal(rec.txs[0]!.complete, false);
});

test('detect', () => {
  assert.equal(detectHttp2(F.CONNECTION_PREFACE, 'client'), 'match');
  assert.equal(detectHttp2(F.CONNECTION_PREFACE.subarray(0, 5), 'client'), 'need-more');
  assert.equal(detectHttp2(Buffer.from('PUT / HTTP/1.1\r\n'), 'client'), 'no');
  assert.equal(detectHttp2(new H2Bytes().settings([[4, 65535]]).build(), 'server'), 'match');
  assert.equal(detectHttp2(Buffer.from('HTTP/1.1 200 OK\r\n'), 'server'), 'no');
});

test('fuzz: random bytes and random segmentation never throw and stay bounded', () => {
  const valid = Buffer.concat(
    conversation()
      .filter(([side]) => side === 'client')
      .map(([, b]) => b),
  ).subarray(0, 2000);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 800 }),
      fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 20 }),
      fc.boolean(),
      fc.boolean(),
      (bytes, cuts, midstream, mix) => {
        const rec = recordingContext({ midstream }, 4096);
        const sess = new Http2Session(rec.ctx);
        feedPieces(sess, fuzzBytes(valid, bytes, mix), cuts, 3);
        const internals = sess as unknown as {
          framers: Record<Side, { buffered: number }>;
          streams: Map<number, unknown>;
        };
        assert.ok(internals.framers.client.buffered <= 64 * 1024 + 16_384 + 9);
        assert.ok(internals.framers.server.buffered <= 64 * 1024 + 16_384 + 9);
        assert.equal(internals.streams.size, 0);
      },
    ),
    { numRuns: 400 },
  );
});
