import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import {
  aeadOpen,
  hkdfExpandLabel,
  keyBlock12,
  nextTrafficSecret,
  prf12,
  trafficKeys13,
  xorNonce,
} from './crypto.ts';
import { RecordDecryptor } from './decrypt.ts';
import { cipherSuite } from './suites.ts';
import * as rfc from './testdata/rfc8448.ts';

const hex = (s: string) => Buffer.from(s, 'hex');
const extract = (salt: Buffer, ikm: Buffer) => createHmac('sha256', salt).update(ikm).digest();
const sha256 = (...parts: Buffer[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

test('RFC 8448: the key schedule reproduces the published traffic secrets', () => {
  const zero = Buffer.alloc(32);
  const early = extract(Buffer.alloc(1, 0), zero);
  assert.deepEqual(early, rfc.SECRETS.early);
  const derived = hkdfExpandLabel('sha256', early, 'derived', sha256(), 32);
  assert.deepEqual(derived, rfc.SECRETS.derivedForHandshake);
  const handshake = extract(derived, rfc.SECRETS.ecdhe);
  assert.deepEqual(handshake, rfc.SECRETS.handshake);
  const helloHash = sha256(rfc.CLIENT_HELLO, rfc.SERVER_HELLO);
  assert.deepEqual(
    hkdfExpandLabel('sha256', handshake, 'c hs traffic', helloHash, 32),
    rfc.SECRETS.clientHandshakeTraffic,
  );
  assert.deepEqual(
    hkdfExpandLabel('sha256', handshake, 's hs traffic', helloHash, 32),
    rfc.SECRETS.serverHandshakeTraffic,
  );
  const derived2 = hkdfExpandLabel('sha256', handshake, 'derived', sha256(), 32);
  assert.deepEqual(derived2, rfc.SECRETS.derivedForMaster);
  const master = extract(derived2, zero);
  assert.deepEqual(master, rfc.SECRETS.master);
  const fullHash = sha256(
    rfc.CLIENT_HELLO,
    rfc.SERVER_HELLO,
    rfc.ENCRYPTED_EXTENSIONS,
    rfc.CERTIFICATE,
    rfc.CERTIFICATE_VERIFY,
    rfc.SERVER_FINISHED,
  );
  assert.deepEqual(
    hkdfExpandLabel('sha256', master, 'c ap traffic', fullHash, 32),
    rfc.SECRETS.clientApplicationTraffic,
  );
  assert.deepEqual(
    hkdfExpandLabel('sha256', master, 's ap traffic', fullHash, 32),
    rfc.SECRETS.serverApplicationTraffic,
  );
});

test('RFC 8448: traffic keys and IVs from the traffic secrets', () => {
  const suite = cipherSuite(0x1301)!;
  assert.deepEqual(trafficKeys13(suite, rfc.SECRETS.serverHandshakeTraffic), rfc.KEYS.serverHandshake);
  assert.deepEqual(trafficKeys13(suite, rfc.SECRETS.clientHandshakeTraffic), rfc.KEYS.clientHandshake);
  assert.deepEqual(trafficKeys13(suite, rfc.SECRETS.serverApplicationTraffic), rfc.KEYS.serverApplication);
  assert.deepEqual(trafficKeys13(suite, rfc.SECRETS.clientApplicationTraffic), rfc.KEYS.clientApplication);
});

function record(bytes: Buffer) {
  return {
    type: bytes[0]!,
    version: bytes.readUInt16BE(1),
    header: bytes.subarray(0, 5),
    fragment: bytes.subarray(5),
  };
}

test('RFC 8448: the server flight decrypts to EncryptedExtensions .. Finished', () => {
  const suite = cipherSuite(0x1301)!;
  const dec = new RecordDecryptor(suite, rfc.KEYS.serverHandshake);
  const opened = dec.open(record(rfc.RECORDS.serverFlight));
  assert.ok(opened);
  assert.equal(opened.type, 22);
  assert.deepEqual(
    opened.content,
    Buffer.concat([rfc.ENCRYPTED_EXTENSIONS, rfc.CERTIFICATE, rfc.CERTIFICATE_VERIFY, rfc.SERVER_FINISHED]),
  );
  assert.equal(dec.seq, 1n);
});

test('RFC 8448: application records decrypt with the right sequence numbers', () => {
  const suite = cipherSuite(0x1301)!;
  const client = new RecordDecryptor(suite, rfc.KEYS.clientHandshake);
  const fin = client.open(record(rfc.RECORDS.clientFinished));
  assert.deepEqual(fin?.content, rfc.CLIENT_FINISHED);
  const clientApp = new RecordDecryptor(suite, rfc.KEYS.clientApplication);
  assert.deepEqual(clientApp.open(record(rfc.RECORDS.clientAppData)), {
    type: 23,
    content: rfc.APPLICATION_DATA,
  });
  assert.deepEqual(clientApp.open(record(rfc.RECORDS.clientAlert)), { type: 21, content: hex('0100') });
  const serverApp = new RecordDecryptor(suite, rfc.KEYS.serverApplication);
  assert.equal(serverApp.open(record(rfc.RECORDS.serverTicket))?.type, 22); // NewSessionTicket at seq 0
  assert.deepEqual(serverApp.open(record(rfc.RECORDS.serverAppData)), {
    type: 23,
    content: rfc.APPLICATION_DATA,
  });
});

test('a record under the wrong key or sequence number does not open', () => {
  const suite = cipherSuite(0x1301)!;
  const serverApp = new RecordDecryptor(suite, rfc.KEYS.serverApplication);
  // serverAppData was sent at seq 1, not 0.
  assert.equal(serverApp.open(record(rfc.RECORDS.serverAppData)), undefined);
  assert.equal(serverApp.seq, 0n);
  const wrong = new RecordDecryptor(suite, rfc.KEYS.clientApplication);
  assert.equal(wrong.open(record(rfc.RECORDS.serverTicket)), undefined);
  const flipped = Buffer.from(rfc.RECORDS.serverTicket);
  flipped[20]! ^= 1;
  assert.equal(new RecordDecryptor(suite, rfc.KEYS.serverApplication).open(record(flipped)), undefined);
  assert.equal(
    aeadOpen(
      'aes-128-gcm',
      rfc.KEYS.serverApplication.key,
      Buffer.alloc(12),
      Buffer.alloc(0),
      Buffer.alloc(3),
    ),
    undefined,
  );
});

test('TLS 1.2 PRF: the published P_SHA256 vector', () => {
  const out = prf12(
    'sha256',
    hex('9bbe436ba940f017b17652849a71db35'),
    'test label',
    hex('a0ba9f936cda311827a6f796ffd5198c'),
    100,
  );
  assert.equal(
    out.toString('hex'),
    'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
  );
});

test('TLS 1.2 PRF: the published P_SHA384 vector (same as openssl kdf TLS1-PRF)', () => {
  const out = prf12(
    'sha384',
    hex('b80b733d6ceefcdc71566ea48e5567df'),
    'test label',
    hex('cd665cf6a8447dd6ff8b27555edb7465'),
    148,
  );
  assert.equal(
    out.toString('hex'),
    '7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f',
  );
});

test('TLS 1.2 key block: slices the PRF output into client/server keys and IVs', () => {
  const master = Buffer.alloc(48, 7);
  const cr = Buffer.alloc(32, 1);
  const sr = Buffer.alloc(32, 2);
  for (const id of [0xc02f, 0xc030, 0xcca8]) {
    const suite = cipherSuite(id)!;
    const kb = keyBlock12(suite, master, cr, sr);
    const raw = prf12(
      suite.hash,
      master,
      'key expansion',
      Buffer.concat([sr, cr]),
      2 * (suite.keyLength + suite.ivLength),
    );
    const k = suite.keyLength;
    assert.deepEqual(kb.client.key, raw.subarray(0, k));
    assert.deepEqual(kb.server.key, raw.subarray(k, 2 * k));
    assert.deepEqual(kb.client.iv, raw.subarray(2 * k, 2 * k + suite.ivLength));
    assert.deepEqual(kb.server.iv, raw.subarray(2 * k + suite.ivLength));
  }
});

/** Seals a TLS 1.2 record the way RFC 5288 / RFC 7905 say, to check the decryptor's nonce and AAD. */
function seal12(
  id: number,
  keys: { key: Buffer; iv: Buffer },
  seq: bigint,
  type: number,
  plain: Buffer,
): Buffer {
  const suite = cipherSuite(id)!;
  const explicit = Buffer.alloc(8);
  explicit.writeBigUInt64BE(seq ^ 0x1234n);
  const nonce = suite.explicitNonceLength > 0 ? Buffer.concat([keys.iv, explicit]) : xorNonce(keys.iv, seq);
  const aad = Buffer.alloc(13);
  aad.writeBigUInt64BE(seq);
  aad[8] = type;
  aad.writeUInt16BE(0x0303, 9);
  aad.writeUInt16BE(plain.length, 11);
  const c = createCipheriv(suite.aead as 'aes-128-gcm', keys.key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: plain.length });
  const body = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  const fragment = suite.explicitNonceLength > 0 ? Buffer.concat([explicit, body]) : body;
  const header = Buffer.from([type, 3, 3, 0, 0]);
  header.writeUInt16BE(fragment.length, 3);
  return Buffer.concat([header, fragment]);
}

test('TLS 1.2 AES-GCM and ChaCha20-Poly1305 records open in sequence', () => {
  for (const id of [0xc02f, 0xc02c, 0xcca8]) {
    const suite = cipherSuite(id)!;
    const keys = keyBlock12(suite, Buffer.alloc(48, 9), Buffer.alloc(32, 3), Buffer.alloc(32, 4)).client;
    const dec = new RecordDecryptor(suite, keys);
    for (let seq = 0n; seq < 3n; seq++) {
      const plain = Buffer.from(`record ${seq} of ${suite.name}`);
      const opened = dec.open(record(seal12(id, keys, seq, 23, plain)));
      assert.deepEqual(opened, { type: 23, content: plain }, suite.name);
    }
    // Replaying seq 0 at seq 3 fails authentication (the AAD carries the sequence number).
    assert.equal(dec.open(record(seal12(id, keys, 0n, 23, Buffer.from('x')))), undefined);
  }
});

test('KeyUpdate: the next traffic secret is HKDF-Expand-Label(secret, "traffic upd")', () => {
  const next = nextTrafficSecret('sha256', rfc.SECRETS.serverApplicationTraffic);
  assert.deepEqual(
    next,
    hkdfExpandLabel('sha256', rfc.SECRETS.serverApplicationTraffic, 'traffic upd', Buffer.alloc(0), 32),
  );
  assert.notDeepEqual(next, rfc.SECRETS.serverApplicationTraffic);
  assert.equal(nextTrafficSecret('sha384', Buffer.alloc(48, 1)).length, 48);
});

test('xorNonce XORs the sequence number into the last 8 bytes', () => {
  const iv = hex('000102030405060708090a0b');
  assert.equal(xorNonce(iv, 0n).toString('hex'), '000102030405060708090a0b');
  assert.equal(xorNonce(iv, 1n).toString('hex'), '000102030405060708090a0a');
  assert.equal(xorNonce(iv, 0x100000001n).toString('hex'), '000102030405060608090a0a');
});
