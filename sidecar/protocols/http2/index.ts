/**
 * HTTP/2 (RFC 9113) with HPACK (RFC 7541), and gRPC on top of it: h2c with prior
 * knowledge, h2c after an HTTP/1.1 Upgrade (see `createHttp2Session`), or decrypted h2.
 * Public surface: the protocol definition for the registry and the session factory.
 */
import type { Detection, ProtocolDefinition, SessionContext, Side } from '../types.ts';
import { CONNECTION_PREFACE, FRAME_HEADER, T_SETTINGS } from './frames.ts';
import { type Http2Options, Http2Session } from './session.ts';

export { HpackDecoder, HpackError } from './hpack.ts';
export { type Http2Options, Http2Session, type UpgradedRequest } from './session.ts';

/**
 * The client opens with the connection preface; the server's first frame is SETTINGS
 * (stream 0, a multiple of 6 bytes, no flags).
 */
export function detectHttp2(first: Buffer, side: Side): Detection {
  if (side === 'client') {
    const n = Math.min(first.length, CONNECTION_PREFACE.length);
    if (first.compare(CONNECTION_PREFACE, 0, n, 0, n) !== 0) return 'no';
    return n === CONNECTION_PREFACE.length ? 'match' : 'need-more';
  }
  if (first.length < FRAME_HEADER) return first.length > 3 && first[3] !== T_SETTINGS ? 'no' : 'need-more';
  const len = first.readUIntBE(0, 3);
  return first[3] === T_SETTINGS &&
    first[4] === 0 &&
    first.readUInt32BE(5) === 0 &&
    len % 6 === 0 &&
    len <= 16_384
    ? 'match'
    : 'no';
}

/** For the HTTP/1.1 parser: the session to switch to after `101 Switching Protocols` to h2c. */
export function createHttp2Session(ctx: SessionContext, options: Http2Options = {}): Http2Session {
  return new Http2Session(ctx, options);
}

export const http2Protocol: ProtocolDefinition = {
  name: 'http2',
  defaultPorts: [],
  detect: detectHttp2,
  create: (ctx) => new Http2Session(ctx),
};
