/**
 * Keeps a message body up to the limit (the rest is counted, not kept), removes its
 * content-encoding for body rules and feeds Server-Sent Events to their parser as they
 * arrive. Chunks handed in are views of capture buffers, so kept bytes are copied, once,
 * into one buffer per body (sized from Content-Length when there is one) rather than a
 * copy per chunk and a concatenation at the end.
 */
import { brotliDecompressSync, constants, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { Payload } from '../types.ts';
import { contentLength } from './parser.ts';
import { SseParser } from './sse.ts';

const SYNC_FLUSH = { finishFlush: constants.Z_SYNC_FLUSH };
/** Smallest allocation for a body of unknown length (grown by doubling, up to the limit). */
const MIN_BODY_ALLOC = 1024;
/**
 * Most allocated ahead of the bytes on the word of a Content-Length header alone: beyond it
 * the buffer grows as bytes arrive, so a header cannot make memory appear on its own.
 */
const MAX_BODY_PREALLOC = 64 * 1024;
const EVENT_STREAM = 'text/event-stream';
const BROTLI_FLUSH = { finishFlush: constants.BROTLI_OPERATION_FLUSH };

export class BodyCollector {
  totalBytes = 0;
  truncated = false;
  firstByteMs = 0;
  /** Kept bytes are buf[0, kept). */
  private buf: Buffer | undefined = undefined;
  private kept = 0;
  private readonly max: number;
  /** Content-Length when the message has a valid one, else -1. */
  private readonly expected: number;
  private readonly encoding: string;
  private readonly sse: SseParser | undefined;
  private readonly contentType: string | undefined;
  /** Set when decoding failed; the payload then has no body. */
  decodeError: string | undefined = undefined;

  constructor(headers: Record<string, string>, maxBodyBytes: number, maxLineBytes: number) {
    this.max = maxBodyBytes;
    this.contentType = headers['content-type'];
    const encoding = headers['content-encoding'];
    this.encoding = encoding === undefined ? '' : encoding.trim().toLowerCase();
    const length = headers['content-length'];
    this.expected = length === undefined ? -1 : contentLength(length);
    const isSse = this.contentType !== undefined && startsWithIgnoreCase(this.contentType, EVENT_STREAM);
    this.sse = isSse ? new SseParser(maxLineBytes, Math.max(maxBodyBytes, 1 << 16)) : undefined;
  }

  add(chunk: Buffer, tsMs: number): void {
    if (chunk.length === 0) return;
    if (this.totalBytes === 0) this.firstByteMs = tsMs;
    this.totalBytes += chunk.length;
    if (this.sse && (this.encoding === '' || this.encoding === 'identity')) this.sse.push(chunk, tsMs);
    const room = this.max - this.kept;
    if (room <= 0) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    let take = chunk.length;
    if (take > room) {
      take = room;
      this.truncated = true;
    }
    const buf = this.reserve(take);
    chunk.copy(buf, this.kept, 0, take);
    this.kept += take;
  }

  /** The body buffer with room for `n` more bytes (n <= max - kept). */
  private reserve(n: number): Buffer {
    const need = this.kept + n;
    const have = this.buf;
    if (have !== undefined && have.length >= need) return have;
    const known = this.expected >= 0;
    const bound = known && this.expected < this.max ? this.expected : this.max;
    let size: number;
    if (have !== undefined) size = have.length * 2;
    else if (known) size = Math.min(bound, MAX_BODY_PREALLOC);
    else size = MIN_BODY_ALLOC;
    if (size > bound) size = bound;
    if (size < need) size = need;
    const next = Buffer.allocUnsafe(size);
    if (have !== undefined) have.copy(next, 0, 0, this.kept);
    this.buf = next;
    return next;
  }

  /** The payload for rules: headers, decoded body, SSE events. */
  finish(headers: Record<string, string>, tsMs: number): Payload {
    const payload: Payload = { headers };
    if (this.contentType !== undefined) payload.contentType = this.contentType;
    if (this.totalBytes > 0) payload.firstByteMs = this.firstByteMs;
    if (this.kept > 0 && this.buf !== undefined) {
      const raw = this.kept === this.buf.length ? this.buf : this.buf.subarray(0, this.kept);
      const decoded = this.decode(raw);
      if (decoded) payload.body = decoded;
    }
    if (this.truncated) payload.bodyTruncated = true;
    if (this.sse) {
      if (this.encoding !== '' && this.encoding !== 'identity' && payload.body) {
        this.sse.push(payload.body, tsMs);
      }
      this.sse.end(tsMs);
      payload.events = this.sse.events;
      if (this.sse.truncated) payload.bodyTruncated = true;
    }
    return payload;
  }

  private decode(raw: Buffer): Buffer | undefined {
    if (this.encoding === '' || this.encoding === 'identity') return raw;
    // A truncated body still decodes up to where it was cut (sync flush instead of finish).
    const opts = { ...(this.truncated ? SYNC_FLUSH : {}), maxOutputLength: Math.max(this.max, 1) };
    try {
      switch (this.encoding) {
        case 'gzip':
        case 'x-gzip':
          return gunzipSync(raw, opts);
        case 'deflate':
          // "deflate" is zlib-wrapped per RFC 9110, but some servers send raw deflate.
          try {
            return inflateSync(raw, opts);
          } catch {
            return inflateRawSync(raw, opts);
          }
        case 'br':
          return brotliDecompressSync(raw, {
            ...(this.truncated ? BROTLI_FLUSH : {}),
            maxOutputLength: opts.maxOutputLength,
          });
        default:
          this.decodeError = `unsupported content-encoding ${this.encoding}`;
          return undefined;
      }
    } catch (err) {
      // Larger than the limit once decoded, or corrupt: no body rather than a wrong one.
      this.decodeError = (err as { code?: string }).code ?? 'decode-failed';
      this.truncated = true;
      return undefined;
    }
  }
}

/** True when `s` starts with `lower` (given in lower case), ignoring ASCII case; no copies. */
function startsWithIgnoreCase(s: string, lower: string): boolean {
  if (s.length < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}
