/**
 * One direction's record protection: the current key, IV and sequence number. TLS 1.3
 * (RFC 8446 §5.2-5.3) authenticates the record header and hides the real content type at
 * the end of the plaintext; TLS 1.2 AEAD suites (RFC 5288, RFC 7905) authenticate
 * seq | type | version | length and, for GCM, carry 8 bytes of explicit nonce per record.
 */
import { aeadOpen, type TrafficKeys, xorNonce } from './crypto.ts';
import type { TlsRecord } from './record.ts';
import type { CipherSuite } from './suites.ts';
import { TAG_LENGTH, TLS_1_3 } from './suites.ts';

export interface Opened {
  /** The real content type (for TLS 1.3, the inner type). */
  type: number;
  content: Buffer;
}

export class RecordDecryptor {
  readonly suite: CipherSuite;
  private readonly key: Buffer;
  private readonly iv: Buffer;
  private readonly tls13: boolean;
  private readonly nonce: Buffer;
  private readonly aad12: Buffer;
  /** Sequence number of the next record; it only advances when a record opens. */
  seq = 0n;

  constructor(suite: CipherSuite, keys: TrafficKeys) {
    this.suite = suite;
    this.key = keys.key;
    this.iv = keys.iv;
    this.tls13 = suite.version === TLS_1_3;
    this.nonce = Buffer.alloc(12);
    this.aad12 = Buffer.alloc(13);
  }

  open(record: TlsRecord): Opened | undefined {
    return this.tls13 ? this.open13(record) : this.open12(record);
  }

  private open13(record: TlsRecord): Opened | undefined {
    const plain = aeadOpen(
      this.suite.aead,
      this.key,
      xorNonce(this.iv, this.seq, this.nonce),
      record.header,
      record.fragment,
    );
    if (plain === undefined) return undefined;
    this.seq++;
    // TLSInnerPlaintext: content | type | zero padding. The type is the last non-zero byte.
    let end = plain.length;
    while (end > 0 && plain[end - 1] === 0) end--;
    if (end === 0) return { type: 0, content: plain.subarray(0, 0) };
    return { type: plain[end - 1]!, content: plain.subarray(0, end - 1) };
  }

  private open12(record: TlsRecord): Opened | undefined {
    const explicit = this.suite.explicitNonceLength;
    const sealed = record.fragment.subarray(explicit);
    const plaintextLength = sealed.length - TAG_LENGTH;
    if (plaintextLength < 0) return undefined;
    let nonce: Buffer;
    if (explicit > 0) {
      this.iv.copy(this.nonce, 0);
      record.fragment.copy(this.nonce, this.iv.length, 0, explicit);
      nonce = this.nonce;
    } else {
      nonce = xorNonce(this.iv, this.seq, this.nonce);
    }
    const aad = this.aad12;
    aad.writeBigUInt64BE(this.seq, 0);
    aad[8] = record.type;
    aad.writeUInt16BE(record.version, 9);
    aad.writeUInt16BE(plaintextLength, 11);
    const plain = aeadOpen(this.suite.aead, this.key, nonce, aad, sealed);
    if (plain === undefined) return undefined;
    this.seq++;
    return { type: record.type, content: plain };
  }
}
