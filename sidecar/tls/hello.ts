/**
 * ClientHello, ServerHello and EncryptedExtensions: just the fields the sidecar needs
 * (randoms, versions, suite, SNI, ALPN). Every read is bounded by the end of the vector it
 * belongs to; a malformed hello throws ParseError with a TLS alert description as its code.
 */
import { ParseError } from '../../lib/errors.ts';
import { TLS_1_2 } from './suites.ts';

const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;

/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
const HELLO_RETRY_RANDOM = Buffer.from(
  'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c',
  'hex',
);

/** TLS alert description `decode_error`, the protocol's own code for a malformed message. */
const DECODE_ERROR = 50;

/** A bounded cursor over one message; reads past `end` throw instead of wrapping. */
class Cursor {
  buf: Buffer;
  pos: number;
  end: number;
  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }
  need(n: number): void {
    if (this.pos + n > this.end) throw new ParseError('tls', 'handshake message truncated', DECODE_ERROR);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** A sub-cursor over a vector with a 1- or 2-byte length prefix. */
  vector(lengthBytes: 1 | 2): Cursor {
    const n = lengthBytes === 1 ? this.u8() : this.u16();
    this.need(n);
    const sub = new Cursor(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return sub;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
}

export interface ClientHello {
  legacyVersion: number;
  random: Buffer;
  sessionId: Buffer;
  cipherSuites: number[];
  sni?: string;
  alpn: string[];
  /** From supported_versions; empty for a pre-1.3 client. */
  supportedVersions: number[];
}

export interface ServerHello {
  legacyVersion: number;
  random: Buffer;
  cipherSuite: number;
  /** The negotiated version: supported_versions when present, else legacy_version. */
  version: number;
  alpn?: string;
  helloRetryRequest: boolean;
}

function forEachExtension(c: Cursor, fn: (type: number, data: Cursor) => void): void {
  if (c.remaining === 0) return; // extensions are optional before TLS 1.3
  const exts = c.vector(2);
  while (exts.remaining > 0) {
    const type = exts.u16();
    fn(type, exts.vector(2));
  }
}

function parseAlpnList(data: Cursor): string[] {
  const list = data.vector(2);
  const out: string[] = [];
  while (list.remaining > 0) {
    const name = list.vector(1);
    out.push(name.bytes(name.remaining).toString('latin1'));
  }
  return out;
}

function parseServerName(data: Cursor): string | undefined {
  const list = data.vector(2);
  while (list.remaining > 0) {
    const type = list.u8();
    const name = list.vector(2);
    if (type === 0) return name.bytes(name.remaining).toString('latin1');
  }
  return undefined;
}

/** Parses a ClientHello body (without the 4-byte handshake header). */
export function parseClientHello(body: Buffer): ClientHello {
  const c = new Cursor(body);
  const legacyVersion = c.u16();
  const random = c.bytes(32);
  const sid = c.vector(1);
  const sessionId = sid.bytes(sid.remaining);
  const suites = c.vector(2);
  const cipherSuites: number[] = [];
  while (suites.remaining >= 2) cipherSuites.push(suites.u16());
  c.vector(1); // compression methods
  const hello: ClientHello = {
    legacyVersion,
    random,
    sessionId,
    cipherSuites,
    alpn: [],
    supportedVersions: [],
  };
  forEachExtension(c, (type, data) => {
    if (type === EXT_SERVER_NAME) hello.sni = parseServerName(data);
    else if (type === EXT_ALPN) hello.alpn = parseAlpnList(data);
    else if (type === EXT_SUPPORTED_VERSIONS) {
      const list = data.vector(1);
      while (list.remaining >= 2) hello.supportedVersions.push(list.u16());
    }
  });
  return hello;
}

/** Parses a ServerHello body; also recognizes a HelloRetryRequest. */
export function parseServerHello(body: Buffer): ServerHello {
  const c = new Cursor(body);
  const legacyVersion = c.u16();
  const random = c.bytes(32);
  c.vector(1); // session id echo
  const cipherSuite = c.u16();
  c.u8(); // compression method
  const hello: ServerHello = {
    legacyVersion,
    random,
    cipherSuite,
    version: legacyVersion,
    helloRetryRequest: random.equals(HELLO_RETRY_RANDOM),
  };
  forEachExtension(c, (type, data) => {
    if (type === EXT_SUPPORTED_VERSIONS) hello.version = data.u16();
    else if (type === EXT_ALPN && legacyVersion <= TLS_1_2) hello.alpn = parseAlpnList(data)[0];
  });
  return hello;
}

/** The ALPN protocol the server picked, from a TLS 1.3 EncryptedExtensions body. */
export function parseEncryptedExtensions(body: Buffer): { alpn?: string } {
  const c = new Cursor(body);
  const out: { alpn?: string } = {};
  forEachExtension(c, (type, data) => {
    if (type === EXT_ALPN) out.alpn = parseAlpnList(data)[0];
  });
  return out;
}
