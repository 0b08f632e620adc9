import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { test } from 'node:test';
import { nextTrafficSecret, trafficKeys13, xorNonce } from './crypto.ts';
import { KeyLogStore } from './keylog.ts';
import { createTlsProtocol, detectTls } from './session.ts';
import { cipherSuite } from './suites.ts';
import { recordingProtocol, testContext } from './testdata/context.ts';
import * as rfc from './testdata/rfc8448.ts';

type Step = ['client' | 'server', Buffer];

const R = rfc.RECORDS;
/** The RFC 8448 connection as the two sides sent it. */
const CONVERSATION: Step[] = [
  ['client', R.clientHello],
  ['server', Buffer.concat([R.serverHello, R.serverFlight])],
  ['client', R.clientFinished],
  ['server', R.serverTicket],
  ['client', R.clientAppData],
  ['server', R.serverAppData],
  ['server', R.serverAlert],
  ['client', R.clientAlert],
];

function storeWithKeys(): KeyLogStore {
  const store = new KeyLogStore();
  for (const line of rfc.keyLogLines()) assert.equal(store.ingestLine(line), 'ok');
  return store;
}

function run(steps: Step[], store: KeyLogStore | undefined, keyWaitMs = 50) {
  const inner = recordingProtocol();
  const t = testContext();
  const proto = createTlsProtocol({ keyLog: store, innerProtocols: [inner], keyWaitMs });
  const session = proto.create(t.ctx);
  let ts = 1000;
  for (const [side, bytes] of steps) session.onData(side, bytes, ts++);
  session.onClose(ts);
  return { inner, t, proto, session };
}

test('detect: a ClientHello from the client, a ServerHello from the server', () => {
  assert.equal(detectTls(R.clientHello, 'client'), 'match');
  assert.equal(detectTls(R.serverHello, 'server'), 'match');
  assert.equal(detectTls(R.clientHello, 'server'), 'no');
  assert.equal(detectTls(R.clientHello.subarray(0, 4), 'client'), 'need-more');
  assert.equal(detectTls(Buffer.from('GET / HTTP/1.1\r\n'), 'client'), 'no');
  assert.equal(detectTls(Buffer.from([0x16, 0x03]), 'client'), 'need-more');
  assert.equal(detectTls(Buffer.from([0x16, 0x04, 0x01]), 'client'), 'no');
  assert.equal(detectTls(Buffer.alloc(0), 'client'), 'need-more');
});

test('RFC 8448 connection: both directions decrypt into the inner protocol', () => {
  const store = storeWithKeys();
  const { inner, t, proto } = run(CONVERSATION, store);
  assert.deepEqual(Buffer.concat(inner.received.client), rfc.APPLICATION_DATA);
  assert.deepEqual(Buffer.concat(inner.received.server), rfc.APPLICATION_DATA);
  assert.equal(inner.closed, 1);
  assert.deepEqual(t.ctx.conn.tls, { decrypted: true, sni: 'server', version: '1.3' });
  // The recording parser emits nothing, so the connection still gets its tls summary.
  assert.equal(t.emitted.length, 1);
  assert.equal(t.emitted[0]!.protocol, 'tls');
  assert.equal(proto.stats.connections.decrypted, 1);
  assert.equal(proto.stats.recordsFailed, 0);
  assert.equal(proto.stats.recordsDecrypted, 7);
  assert.deepEqual(t.parseErrors, []);
  // Key material is released (and wiped) when the connection ends.
  assert.equal(store.size, 0);
  assert.equal(store.stats.released, 1);
});

test('RFC 8448 connection: every split of every direction gives the same plaintext', () => {
  const serverAll = Buffer.concat([R.serverHello, R.serverFlight, R.serverTicket, R.serverAppData]);
  const clientRest = Buffer.concat([R.clientFinished, R.clientAppData]);
  for (let p = 0; p <= serverAll.length; p += 1) {
    const steps: Step[] = [
      ['client', R.clientHello],
      ['server', serverAll.subarray(0, p)],
      ['server', serverAll.subarray(p)],
      ['client', clientRest.subarray(0, p % (clientRest.length + 1))],
      ['client', clientRest.subarray(p % (clientRest.length + 1))],
    ];
    const { inner, t } = run(steps, storeWithKeys());
    assert.deepEqual(Buffer.concat(inner.received.server), rfc.APPLICATION_DATA, `split at ${p}`);
    assert.deepEqual(Buffer.concat(inner.received.client), rfc.APPLICATION_DATA, `split at ${p}`);
    assert.deepEqual(t.parseErrors, []);
  }
});

function waitUntil(cond: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let spins = 0;
    const tick = () => {
      if (cond()) return resolve();
      if (++spins > 2000) return reject(new Error('condition not reached'));
      setTimeout(tick, 5);
    };
    tick();
  });
}

test('keys written after the packets: records wait, then decrypt', async () => {
  const store = new KeyLogStore();
  const { inner, t, proto } = run(CONVERSATION, store, 60_000);
  assert.equal(inner.received.client.length, 0);
  assert.equal(t.emitted.length, 0); // the close waits for the keys
  for (const line of rfc.keyLogLines()) store.ingestLine(line);
  assert.deepEqual(Buffer.concat(inner.received.client), rfc.APPLICATION_DATA);
  assert.deepEqual(Buffer.concat(inner.received.server), rfc.APPLICATION_DATA);
  assert.equal(t.emitted.length, 1);
  assert.equal(proto.stats.connections.decrypted, 1);
  assert.equal(store.stats.waitsSatisfied, 1);
});

test('keys never written: after the bounded wait a tls summary says not decrypted', async () => {
  const store = new KeyLogStore();
  const { inner, t, proto } = run(CONVERSATION, store, 1);
  await waitUntil(() => t.emitted.length > 0);
  assert.equal(inner.received.client.length, 0);
  const tx = t.emitted[0]!;
  assert.equal(tx.protocol, 'tls');
  assert.equal(tx.operation, 'server');
  assert.equal(
    tx.requestBytes,
    R.clientHello.length + R.clientFinished.length + R.clientAppData.length + R.clientAlert.length,
  );
  assert.equal(
    tx.responseBytes,
    R.serverHello.length +
      R.serverFlight.length +
      R.serverTicket.length +
      R.serverAppData.length +
      R.serverAlert.length,
  );
  assert.equal(tx.startMs, 1000);
  assert.equal(tx.endMs, 1008);
  assert.equal(tx.complete, true);
  assert.deepEqual(t.ctx.conn.tls, { decrypted: false, sni: 'server', version: '1.3' });
  assert.equal(proto.stats.connections['keys-missing'], 1);
  assert.equal(store.stats.waitsTimedOut, 1);
});

test('no key log configured: summary at close, nothing buffered', () => {
  const { t, proto } = run(CONVERSATION, undefined);
  assert.equal(t.emitted.length, 1);
  assert.equal(t.emitted[0]!.protocol, 'tls');
  assert.equal(proto.stats.connections['no-key-log'], 1);
});

test('wrong secrets: records fail authentication, counted, no crash', () => {
  const store = new KeyLogStore();
  const cr = rfc.CLIENT_RANDOM.toString('hex');
  for (const label of [
    'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
    'SERVER_HANDSHAKE_TRAFFIC_SECRET',
    'CLIENT_TRAFFIC_SECRET_0',
    'SERVER_TRAFFIC_SECRET_0',
  ]) {
    store.ingestLine(`${label} ${cr} ${'ab'.repeat(32)}`);
  }
  const { inner, t, proto } = run(CONVERSATION, store);
  assert.equal(inner.received.client.length, 0);
  assert.equal(proto.stats.connections['decrypt-failed'], 1);
  assert.ok(proto.stats.recordsFailed >= 2);
  assert.ok(t.parseErrors.includes('bad-record-mac'));
  assert.equal(t.emitted[0]!.protocol, 'tls');
});

test('only application secrets logged: the handshake is skipped by trial decryption', () => {
  const store = new KeyLogStore();
  for (const line of rfc.keyLogLines().slice(2)) store.ingestLine(line);
  // Without handshake secrets the session waits for them until the (short) deadline.
  const inner = recordingProtocol();
  const t = testContext();
  const session = createTlsProtocol({ keyLog: store, innerProtocols: [inner], keyWaitMs: 0 }).create(t.ctx);
  return new Promise<void>((resolve) => {
    session.onData('client', R.clientHello, 1);
    session.onData('server', Buffer.concat([R.serverHello, R.serverFlight]), 2);
    setTimeout(() => {
      // Handshake records under unknown keys cannot be read; application records can.
      session.onData('server', R.serverTicket, 3);
      session.onData('server', R.serverAppData, 4);
      session.onClose(5);
      assert.deepEqual(Buffer.concat(inner.received.server), rfc.APPLICATION_DATA);
      resolve();
    }, 5);
  });
});

/** Seals a TLS 1.3 record (inner type appended) for synthetic KeyUpdate traffic. */
function seal13(keys: { key: Buffer; iv: Buffer }, seq: bigint, type: number, content: Buffer): Buffer {
  const inner = Buffer.concat([content, Buffer.of(type)]);
  const header = Buffer.from([23, 3, 3, 0, 0]);
  header.writeUInt16BE(inner.length + 16, 3);
  const c = createCipheriv('aes-128-gcm', keys.key, xorNonce(keys.iv, seq), { authTagLength: 16 });
  c.setAAD(header);
  return Buffer.concat([header, c.update(inner), c.final(), c.getAuthTag()]);
}

test('KeyUpdate: records after it decrypt under the next traffic secret', () => {
  const suite = cipherSuite(0x1301)!;
  const next = nextTrafficSecret('sha256', rfc.SECRETS.serverApplicationTraffic);
  const keyUpdate = seal13(rfc.KEYS.serverApplication, 2n, 22, Buffer.from('1800000100', 'hex'));
  const after = seal13(trafficKeys13(suite, next), 0n, 23, Buffer.from('after update'));
  const { inner, proto } = run(
    [...CONVERSATION.slice(0, 6), ['server', Buffer.concat([keyUpdate, after])]],
    storeWithKeys(),
  );
  assert.equal(Buffer.concat(inner.received.server).toString('latin1').slice(50), 'after update');
  assert.equal(proto.stats.keyUpdates, 1);
  assert.equal(proto.stats.recordsFailed, 0);
});

test('ALPN picks the inner protocol; unknown plaintext is counted, not parsed', () => {
  const h1 = recordingProtocol('http');
  const h2 = recordingProtocol('http2');
  // No ALPN in RFC 8448: detection decides; http refuses, http2 accepts.
  h1.detect = () => 'no';
  const t = testContext();
  const session = createTlsProtocol({ keyLog: storeWithKeys(), innerProtocols: [h1, h2] }).create(t.ctx);
  let ts = 0;
  for (const [side, bytes] of CONVERSATION) session.onData(side, bytes, ts++);
  session.onClose(ts);
  assert.equal(h1.received.client.length, 0);
  assert.deepEqual(Buffer.concat(h2.received.client), rfc.APPLICATION_DATA);

  const nobody = recordingProtocol('http');
  nobody.detect = () => 'no';
  const t2 = testContext();
  const proto = createTlsProtocol({ keyLog: storeWithKeys(), innerProtocols: [nobody] });
  const s2 = proto.create(t2.ctx);
  for (const [side, bytes] of CONVERSATION) s2.onData(side, bytes, ts++);
  s2.onClose(ts);
  assert.equal(proto.stats.unknownInnerProtocol, 1);
  assert.ok(t2.dropped.some((d) => d.reason === 'unknown-inner-protocol'));
});

test('garbage after the handshake stops framing, counted, no crash', () => {
  const { t } = run(
    [
      ['client', R.clientHello],
      ['server', R.serverHello],
      ['server', Buffer.from('this is not a TLS record at all')],
    ],
    undefined,
  );
  assert.ok(t.parseErrors.includes('bad-content-type'));
  assert.equal(t.emitted.length, 1);
});

test('a capture gap marks the summary incomplete', () => {
  const t = testContext();
  const session = createTlsProtocol({}).create(t.ctx);
  session.onData('client', R.clientHello, 1);
  session.onGap('server', 100, 2);
  session.onClose(3);
  assert.equal(t.emitted[0]!.complete, false);
});
