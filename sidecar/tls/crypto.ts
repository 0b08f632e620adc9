/**
 * Key derivation and record protection for TLS 1.2 and 1.3, on node:crypto only.
 * TLS 1.3: HKDF-Expand-Label (RFC 8446 §7.1) turns a traffic secret from the key log into a
 * key and IV. TLS 1.2: the PRF (RFC 5246 §5) turns the logged master secret into the key block.
 */
import { createDecipheriv, createHmac } from 'node:crypto';
import type { AeadAlgorithm, CipherSuite, HashAlgorithm } from './suites.ts';
import { TAG_LENGTH } from './suites.ts';

export const HASH_LENGTH: Readonly<Record<HashAlgorithm, number>> = { sha256: 32, sha384: 48 };

const LABEL_PREFIX = Buffer.from('tls13 ', 'latin1');
const EMPTY = Buffer.alloc(0);

/** HKDF-Expand (RFC 5869 §2.3) with `prk` as the pseudorandom key. */
export function hkdfExpand(hash: HashAlgorithm, prk: Buffer, info: Buffer, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let previous = EMPTY;
  let written = 0;
  for (let i = 1; written < length; i++) {
    const hmac = createHmac(hash, prk);
    hmac.update(previous);
    hmac.update(info);
    hmac.update(Buffer.of(i));
    previous = hmac.digest();
    written += previous.copy(out, written);
  }
  return out;
}

/** HKDF-Expand-Label (RFC 8446 §7.1). */
export function hkdfExpandLabel(
  hash: HashAlgorithm,
  secret: Buffer,
  label: string,
  context: Buffer,
  length: number,
): Buffer {
  const labelBytes = Buffer.from(label, 'latin1');
  const info = Buffer.allocUnsafe(2 + 1 + LABEL_PREFIX.length + labelBytes.length + 1 + context.length);
  let o = info.writeUInt16BE(length, 0);
  o = info.writeUInt8(LABEL_PREFIX.length + labelBytes.length, o);
  o += LABEL_PREFIX.copy(info, o);
  o += labelBytes.copy(info, o);
  o = info.writeUInt8(context.length, o);
  context.copy(info, o);
  return hkdfExpand(hash, secret, info, length);
}

export interface TrafficKeys {
  key: Buffer;
  /** The full per-record IV (TLS 1.3, ChaCha20) or the 4-byte GCM salt (TLS 1.2 GCM). */
  iv: Buffer;
}

/** Write key and IV from a TLS 1.3 traffic secret (RFC 8446 §7.3). */
export function trafficKeys13(suite: CipherSuite, secret: Buffer): TrafficKeys {
  return {
    key: hkdfExpandLabel(suite.hash, secret, 'key', EMPTY, suite.keyLength),
    iv: hkdfExpandLabel(suite.hash, secret, 'iv', EMPTY, suite.ivLength),
  };
}

/** application_traffic_secret_N+1 after a KeyUpdate (RFC 8446 §7.2). */
export function nextTrafficSecret(hash: HashAlgorithm, secret: Buffer): Buffer {
  return hkdfExpandLabel(hash, secret, 'traffic upd', EMPTY, HASH_LENGTH[hash]);
}

/** The TLS 1.2 PRF: P_hash(secret, label + seed) (RFC 5246 §5). */
export function prf12(
  hash: HashAlgorithm,
  secret: Buffer,
  label: string,
  seed: Buffer,
  length: number,
): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out = Buffer.allocUnsafe(length);
  let a = labelSeed; // A(0)
  let written = 0;
  while (written < length) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(a).update(labelSeed).digest();
    written += block.copy(out, written);
  }
  return out;
}

export interface KeyBlock12 {
  client: TrafficKeys;
  server: TrafficKeys;
}

/**
 * The TLS 1.2 key block for an AEAD suite (no MAC keys): client key, server key, client IV,
 * server IV, in that order (RFC 5246 §6.3, RFC 5288 §3, RFC 7905 §2).
 */
export function keyBlock12(
  suite: CipherSuite,
  masterSecret: Buffer,
  clientRandom: Buffer,
  serverRandom: Buffer,
): KeyBlock12 {
  const k = suite.keyLength;
  const v = suite.ivLength;
  const block = prf12(
    suite.hash,
    masterSecret,
    'key expansion',
    Buffer.concat([serverRandom, clientRandom]),
    2 * (k + v),
  );
  return {
    client: { key: block.subarray(0, k), iv: block.subarray(2 * k, 2 * k + v) },
    server: { key: block.subarray(k, 2 * k), iv: block.subarray(2 * k + v, 2 * k + 2 * v) },
  };
}

/** Per-record nonce: the IV with the 64-bit sequence number XORed into its last 8 bytes. */
export function xorNonce(iv: Buffer, seq: bigint, out: Buffer = Buffer.allocUnsafe(iv.length)): Buffer {
  iv.copy(out, 0);
  const tail = out.length - 8;
  const hi = Number(seq >> 32n) >>> 0;
  const lo = Number(seq & 0xffffffffn) >>> 0;
  out.writeUInt32BE((out.readUInt32BE(tail) ^ hi) >>> 0, tail);
  out.writeUInt32BE((out.readUInt32BE(tail + 4) ^ lo) >>> 0, tail + 4);
  return out;
}

/**
 * AEAD open. `sealed` is ciphertext followed by the 16-byte tag. Returns the plaintext, or
 * undefined when authentication fails (wrong key, wrong sequence number, corrupted bytes).
 */
export function aeadOpen(
  aead: AeadAlgorithm,
  key: Buffer,
  nonce: Buffer,
  aad: Buffer,
  sealed: Buffer,
): Buffer | undefined {
  if (sealed.length < TAG_LENGTH) return undefined;
  const ctLength = sealed.length - TAG_LENGTH;
  try {
    // The cast only picks an overload: every AeadAlgorithm is a GCM or ChaCha20-Poly1305 mode.
    const decipher = createDecipheriv(aead as 'aes-128-gcm', key, nonce, { authTagLength: TAG_LENGTH });
    decipher.setAAD(aad, { plaintextLength: ctLength });
    decipher.setAuthTag(sealed.subarray(ctLength));
    const head = decipher.update(sealed.subarray(0, ctLength));
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return undefined;
  }
}
