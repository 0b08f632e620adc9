import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseClientHello, parseEncryptedExtensions, parseServerHello } from './hello.ts';
import { HandshakeReader, MAX_FRAGMENT_LENGTH, RecordReader, type TlsRecord } from './record.ts';
import { createTlsProtocol } from './session.ts';
import { bytes, clientHello, handshake, serverHello, tlsRecord } from './testdata/builder.ts';
import { testContext } from './testdata/context.ts';

function frame(chunks: Buffer[]): { records: TlsRecord[]; error: string | undefined } {
  const reader = new RecordReader();
  const records: TlsRecord[] = [];
  let error: string | undefined;
  for (const c of chunks) {
    const e = reader.parse(c, (r) => records.push({ ...r, fragment: Buffer.from(r.fragment) }));
    error ??= e;
  }
  return { records, error };
}

test('record reader: whole records, several per chunk, and every split point', () => {
  const stream = Buffer.concat([
    tlsRecord(22, Buffer.from('hello')),
    tlsRecord(23, Buffer.alloc(300, 7)),
    tlsRecord(21, Buffer.from([1, 0])),
  ]);
  for (let p = 0; p <= stream.length; p++) {
    const { records, error } = frame([stream.subarray(0, p), stream.subarray(p)]);
    assert.equal(error, undefined);
    assert.deepEqual(
      records.map((r) => [r.type, r.fragment.length]),
      [
        [22, 5],
        [23, 300],
        [21, 2],
      ],
      `split at ${p}`,
    );
  }
});

test('record reader: bad type, bad version and oversized records stop framing', () => {
  assert.equal(frame([Buffer.from('GET / HTTP/1.1\r\n')]).error, 'bad-content-type');
  assert.equal(frame([bytes().u8(23).u16(0x0201).u16(1).u8(0).build()]).error, 'bad-version');
  assert.equal(
    frame([
      bytes()
        .u8(23)
        .u16(0x0303)
        .u16(MAX_FRAGMENT_LENGTH + 1)
        .build(),
    ]).error,
    'oversized-record',
  );
  const reader = new RecordReader();
  reader.parse(Buffer.from('junk!'), () => {});
  reader.parse(Buffer.alloc(10), () => {});
  assert.equal(reader.skippedBytes, 15);
});

test('handshake reader: a message split across records and two messages in one record', () => {
  const a = handshake(1, Buffer.alloc(100, 1));
  const b = handshake(2, Buffer.alloc(10, 2));
  const all = Buffer.concat([a, b]);
  for (let p = 0; p <= all.length; p++) {
    const reader = new HandshakeReader();
    const got: Array<[number, number]> = [];
    reader.parse(all.subarray(0, p), (m) => got.push([m.type, m.body.length]));
    reader.parse(all.subarray(p), (m) => got.push([m.type, m.body.length]));
    assert.deepEqual(got, [
      [1, 100],
      [2, 10],
    ]);
  }
});

test('handshake reader: a message above the limit is skipped, the next one is read', () => {
  const reader = new HandshakeReader(50);
  const got: number[] = [];
  const big = handshake(11, Buffer.alloc(120, 3));
  reader.parse(big.subarray(0, 60), (m) => got.push(m.type));
  reader.parse(Buffer.concat([big.subarray(60), handshake(20, Buffer.alloc(32))]), (m) => got.push(m.type));
  assert.deepEqual(got, [20]);
  assert.equal(reader.skippedBytes, 124);
});

test('ClientHello: random, SNI, ALPN, supported versions, suites', () => {
  const random = Buffer.alloc(32, 0x5a);
  const msg = clientHello({
    random,
    sni: 'api.openai.com',
    alpn: ['h2', 'http/1.1'],
    versions: [0x0304, 0x0303],
  });
  const hello = parseClientHello(msg.subarray(4));
  assert.deepEqual(hello.random, random);
  assert.equal(hello.sni, 'api.openai.com');
  assert.deepEqual(hello.alpn, ['h2', 'http/1.1']);
  assert.deepEqual(hello.supportedVersions, [0x0304, 0x0303]);
  assert.deepEqual(hello.cipherSuites, [0x1301, 0xc02f]);
});

test('ServerHello: TLS 1.2 with ALPN, TLS 1.3 via supported_versions, HelloRetryRequest', () => {
  const h12 = parseServerHello(serverHello({ suite: 0xc030, alpn: 'h2' }).subarray(4));
  assert.equal(h12.version, 0x0303);
  assert.equal(h12.cipherSuite, 0xc030);
  assert.equal(h12.alpn, 'h2');
  const h13 = parseServerHello(serverHello({ suite: 0x1302, version: 0x0304 }).subarray(4));
  assert.equal(h13.version, 0x0304);
  const hrr = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
  assert.equal(
    parseServerHello(serverHello({ random: hrr, version: 0x0304 }).subarray(4)).helloRetryRequest,
    true,
  );
  const ee = bytes()
    .vec(2, (e) => e.u16(16).vec(2, (d) => d.vec(2, (l) => l.vec(1, (n) => n.raw('h2')))))
    .build();
  assert.equal(parseEncryptedExtensions(ee).alpn, 'h2');
});

test('hello parsers: every truncation throws ParseError with decode_error, never reads past the end', () => {
  const msg = clientHello({ sni: 'example.com', alpn: ['h2'], versions: [0x0304] }).subarray(4);
  for (let n = 0; n < msg.length; n++) {
    try {
      parseClientHello(msg.subarray(0, n));
    } catch (err) {
      assert.equal((err as { code?: string }).code, 'AXOM_PARSE');
      assert.equal((err as { protocolCode?: number }).protocolCode, 50);
    }
  }
});

test('tls session without keys: SNI and version from the hellos, bytes each way', () => {
  const t = testContext();
  const session = createTlsProtocol({}).create(t.ctx);
  const ch = tlsRecord(22, clientHello({ sni: 'api.anthropic.com', versions: [0x0304, 0x0303] }), 0x0301);
  const sh = tlsRecord(22, serverHello({ suite: 0x1301, version: 0x0304 }));
  const app = tlsRecord(23, Buffer.alloc(100));
  session.onData('client', ch, 10);
  session.onData('server', Buffer.concat([sh, app]), 20);
  session.onData('client', app, 30);
  session.onClose(40);
  assert.deepEqual(t.ctx.conn.tls, { decrypted: false, sni: 'api.anthropic.com', version: '1.3' });
  assert.equal(t.emitted.length, 1);
  const tx = t.emitted[0]!;
  assert.equal(tx.requestBytes, ch.length + app.length);
  assert.equal(tx.responseBytes, sh.length + app.length);
  assert.equal(tx.endMs - tx.startMs, 30);
});

test('fuzz: random bytes in random segments never crash the record layer or the session', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.nat(3000), { maxLength: 12 }),
      fc.boolean(),
      (data, cuts, prefixHello) => {
        const payload = Buffer.from(data);
        const stream = prefixHello
          ? Buffer.concat([tlsRecord(22, clientHello({ sni: 'x' })), payload])
          : payload;
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const reader = new RecordReader();
        const t = testContext();
        const session = createTlsProtocol({}).create(t.ctx);
        let last = 0;
        for (const p of [...points, stream.length]) {
          const chunk = stream.subarray(last, p);
          reader.parse(chunk, (r) => assert.ok(r.fragment.length <= MAX_FRAGMENT_LENGTH));
          session.onData('client', chunk, p);
          session.onData('server', chunk, p);
          last = p;
          // Bounded memory: at most one partial record is held.
          assert.ok(reader.bufferedBytes <= MAX_FRAGMENT_LENGTH + 5);
        }
        session.onClose(1e9);
      },
    ),
    { numRuns: 300 },
  );
});

test('fuzz: mutated hellos parse or throw ParseError, nothing else', () => {
  const base = clientHello({ sni: 'api.openai.com', alpn: ['h2', 'http/1.1'], versions: [0x0304] }).subarray(
    4,
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      (edits) => {
        const msg = Buffer.from(base);
        for (const [i, v] of edits) msg[i] = v;
        try {
          parseClientHello(msg);
        } catch (err) {
          assert.equal((err as { name?: string }).name, 'ParseError');
        }
      },
    ),
    { numRuns: 500 },
  );
});
