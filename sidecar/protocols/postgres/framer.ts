/**
 * Frames one direction of a PostgreSQL connection into messages: `type(1) length(4) body`,
 * or `length(4) body` for the untyped startup message, or one bare byte for the answer to
 * SSLRequest. Bodies the session needs are handed on as views of the chunk and copied only
 * when a message spans chunks; bodies it does not need (rows, COPY data) are skipped
 * without buffering. After a gap the framer hunts for a message start the caller vouches
 * for, so one lost segment costs the messages around it and nothing else.
 */
import { MAX_PROTOCOL_MESSAGE } from './constants.ts';

/** `body` is undefined when the caller did not want it or it was larger than the limit. */
export type MessageSink = (type: number, body: Buffer | undefined, size: number) => void;

/** Whether a message plausibly starts at `at`: yes, no, or cannot tell yet (need more bytes). */
export type Anchor = (buf: Buffer, at: number) => 'yes' | 'no' | 'more';

export interface FramerOptions {
  /** Which message types the session reads; the rest are counted and skipped. */
  wants(type: number): boolean;
  maxBody: number;
  anchor: Anchor;
  onError(reason: string): void;
  onDropped(reason: string, bytes: number): void;
}

/** Pseudo-types for messages without a type byte. */
export const TYPE_STARTUP = -1;
export const TYPE_SINGLE_BYTE = -2;

/** Bytes kept while hunting for a message start before the oldest are let go. */
const HUNT_WINDOW = 64 * 1024;

export class PgFramer {
  /** The next message is the untyped startup message. */
  startup = false;
  /** The next byte is a bare answer to SSLRequest / GSSENCRequest. */
  singleByte = false;
  /** Looking for a message boundary after a gap or a mid-connection join. */
  hunting = false;
  /** Set by the session to stop parsing (TLS took over, or a fatal error). */
  stopped = false;

  private readonly opts: FramerOptions;
  private readonly head = Buffer.alloc(5);
  private headLen = 0;
  private inBody = false;
  private type = 0;
  private remaining = 0;
  private size = 0;
  private keep = false;
  private body: Buffer | undefined;
  private bodyFill = 0;
  private huntBuf: Buffer | undefined;

  constructor(opts: FramerOptions) {
    this.opts = opts;
  }

  /** Bytes buffered right now (headers, a spanning body, the hunt window). */
  get buffered(): number {
    return this.headLen + (this.body?.length ?? 0) + (this.huntBuf?.length ?? 0);
  }

  /** Forget any partial message and hunt for the next boundary. */
  lose(): void {
    this.headLen = 0;
    this.inBody = false;
    this.body = undefined;
    this.huntBuf = undefined;
    this.singleByte = false;
    this.startup = false;
    this.hunting = true;
  }

  push(chunk: Buffer, sink: MessageSink): void {
    let data = chunk;
    let pos = 0;
    while (pos < data.length && !this.stopped) {
      if (this.hunting) {
        const found = this.hunt(data.subarray(pos));
        if (found === undefined) return;
        data = found;
        pos = 0;
        continue;
      }
      if (this.inBody) {
        pos = this.feedBody(data, pos, sink);
        continue;
      }
      if (this.singleByte && this.headLen === 0) {
        this.singleByte = false;
        sink(TYPE_SINGLE_BYTE, data.subarray(pos, pos + 1), 1);
        pos++;
        continue;
      }
      // Header: 5 bytes (4 for the startup message). Fast path when it is all in `data`.
      const need = this.startup ? 4 : 5;
      let header: Buffer;
      if (this.headLen === 0 && data.length - pos >= need) {
        header = data.subarray(pos, pos + need);
        pos += need;
      } else {
        const take = Math.min(need - this.headLen, data.length - pos);
        data.copy(this.head, this.headLen, pos, pos + take);
        this.headLen += take;
        pos += take;
        if (this.headLen < need) return;
        header = this.head;
        this.headLen = 0;
      }
      let type: number;
      let length: number;
      if (this.startup) {
        this.startup = false;
        type = TYPE_STARTUP;
        length = header.readUInt32BE(0);
      } else {
        type = header[0]!;
        length = header.readUInt32BE(1);
      }
      if (length < 4 || length > MAX_PROTOCOL_MESSAGE) {
        this.opts.onError('bad-length');
        this.lose();
        continue;
      }
      this.type = type;
      this.size = length + (type === TYPE_STARTUP ? 0 : 1);
      this.remaining = length - 4;
      this.keep = this.opts.wants(type) && this.remaining <= this.opts.maxBody;
      if (!this.keep && this.opts.wants(type)) this.opts.onDropped('message-too-large', this.remaining);
      this.inBody = true;
      this.body = undefined;
      this.bodyFill = 0;
      if (this.remaining === 0) pos = this.feedBody(data, pos, sink);
    }
  }

  private feedBody(data: Buffer, pos: number, sink: MessageSink): number {
    const avail = data.length - pos;
    if (this.keep && this.body === undefined && avail >= this.remaining) {
      // Whole body in this chunk: hand on a view, no copy.
      const end = pos + this.remaining;
      this.inBody = false;
      sink(this.type, data.subarray(pos, end), this.size);
      return end;
    }
    const take = Math.min(avail, this.remaining);
    if (this.keep) {
      if (this.body === undefined) this.body = Buffer.allocUnsafe(this.remaining);
      data.copy(this.body, this.bodyFill, pos, pos + take);
      this.bodyFill += take;
    }
    this.remaining -= take;
    if (this.remaining > 0) return pos + take;
    this.inBody = false;
    const body = this.keep ? (this.body ?? Buffer.alloc(0)).subarray(0, this.bodyFill || 0) : undefined;
    this.body = undefined;
    sink(this.type, body, this.size);
    return pos + take;
  }

  /** Returns the bytes from a vouched-for boundary on, or undefined to wait for more. */
  private hunt(more: Buffer): Buffer | undefined {
    let buf = this.huntBuf === undefined ? more : Buffer.concat([this.huntBuf, more]);
    this.huntBuf = undefined;
    for (let i = 0; i < buf.length; i++) {
      const verdict = this.opts.anchor(buf, i);
      if (verdict === 'no') continue;
      if (i > 0) this.opts.onDropped('resync', i);
      if (verdict === 'yes') {
        this.hunting = false;
        return buf.subarray(i);
      }
      buf = buf.subarray(i);
      if (buf.length > HUNT_WINDOW) {
        this.opts.onDropped('resync', buf.length - 16);
        buf = buf.subarray(buf.length - 16);
      }
      this.huntBuf = Buffer.from(buf);
      return undefined;
    }
    if (buf.length > 0) this.opts.onDropped('resync', buf.length);
    return undefined;
  }
}
