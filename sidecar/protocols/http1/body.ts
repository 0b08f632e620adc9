/**
 * Keeps a message body up to the limit (the rest is counted, not kept), removes its
 * content-encoding for body rules and feeds Server-Sent Events to their parser as they
 * arrive. Chunks handed in are views of capture buffers, so kept bytes are copied.
 */
import { brotliDecompressSync, constants, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { Payload } from '../types.ts';
import { SseParser } from './sse.ts';

const SYNC_FLUSH = { finishFlush: constants.Z_SYNC_FLUSH };
const BROTLI_FLUSH = { finishFlush: constants.BROTLI_OPERATION_FLUSH };

export class BodyCollector {
  totalBytes = 0;
  truncated = false;
  firstByteMs = 0;
  private readonly parts: Buffer[] = [];
  private kept = 0;
  private readonly max: number;
  private readonly encoding: string;
  private readonly sse: SseParser | undefined;
  private readonly contentType: string | undefined;
  /** Set when decoding failed; the payload then has no body. */
  decodeError: string | undefined = undefined;

  constructor(headers: Record<string, string>, maxBodyBytes: number, maxLineBytes: number) {
    this.max = maxBodyBytes;
    this.contentType = headers['content-type'];
    this.encoding = (headers['content-encoding'] ?? '').trim().toLowerCase();
    const isSse = this.contentType?.toLowerCase().startsWith('text/event-stream') === true;
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
    const take = chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (take.length < chunk.length) this.truncated = true;
    this.parts.push(Buffer.from(take));
    this.kept += take.length;
  }

  /** The payload for rules: headers, decoded body, SSE events. */
  finish(headers: Record<string, string>, tsMs: number): Payload {
    const payload: Payload = { headers };
    if (this.contentType !== undefined) payload.contentType = this.contentType;
    if (this.totalBytes > 0) payload.firstByteMs = this.firstByteMs;
    if (this.kept > 0) {
      const raw = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.kept);
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
