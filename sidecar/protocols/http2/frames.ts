/**
 * HTTP/2 framing (RFC 9113 §4, §6): constants and a per-direction framer. A frame is a
 * 9-byte header (length 24, type 8, flags 8, R+stream 31) and its payload. Payloads are
 * views of the chunk unless a frame spans chunks; frames over the limit are skipped and
 * reported (only DATA may be that large without being malformed). After a gap the framer
 * hunts for two consecutive plausible frame headers before trusting a boundary again.
 */

export const FRAME_HEADER = 9;
export const CONNECTION_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const T_DATA = 0x0;
export const T_HEADERS = 0x1;
export const T_PRIORITY = 0x2;
export const T_RST_STREAM = 0x3;
export const T_SETTINGS = 0x4;
export const T_PUSH_PROMISE = 0x5;
export const T_PING = 0x6;
export const T_GOAWAY = 0x7;
export const T_WINDOW_UPDATE = 0x8;
export const T_CONTINUATION = 0x9;

export const F_END_STREAM = 0x1;
export const F_ACK = 0x1;
export const F_END_HEADERS = 0x4;
export const F_PADDED = 0x8;
export const F_PRIORITY = 0x20;

export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;

/** RFC 9113 §7 error codes. */
export const E_NO_ERROR = 0x0;
export const E_PROTOCOL_ERROR = 0x1;
export const E_INTERNAL_ERROR = 0x2;
export const E_REFUSED_STREAM = 0x7;
export const E_CANCEL = 0x8;
export const E_COMPRESSION_ERROR = 0x9;
export const E_ENHANCE_YOUR_CALM = 0xb;
export const E_INADEQUATE_SECURITY = 0xc;

export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_FRAME_SIZE_LIMIT = 16_777_215;

/** Whether a 9-byte header at `at` could start a real frame (used to resynchronize). */
export function plausibleHeader(buf: Buffer, at: number, maxFrame: number): boolean {
  const len = buf.readUIntBE(at, 3);
  const type = buf[at + 3]!;
  const stream = buf.readUInt32BE(at + 5);
  if (stream >>> 31 !== 0 || len > maxFrame || type > T_CONTINUATION) return false;
  switch (type) {
    case T_SETTINGS:
      return stream === 0 && len % 6 === 0;
    case T_PING:
      return stream === 0 && len === 8;
    case T_GOAWAY:
      return stream === 0 && len >= 8;
    case T_WINDOW_UPDATE:
      return len === 4;
    case T_RST_STREAM:
      return stream !== 0 && len === 4;
    case T_PRIORITY:
      return stream !== 0 && len === 5;
    default:
      return stream !== 0;
  }
}

export interface FrameSink {
  /** A whole non-DATA frame; `payload` is undefined when it was over the limit and skipped. */
  frame(type: number, flags: number, stream: number, payload: Buffer | undefined, length: number): void;
  /**
   * A piece of a DATA frame's content (padding removed). `frameBytes` is the whole frame's
   * size on the first piece and 0 after; `flags` are given with the last piece.
   */
  data(stream: number, piece: Buffer, frameBytes: number, last: boolean, flags: number): void;
}

export interface FramerOptions {
  maxPayload: number;
  onDropped(reason: string, bytes: number): void;
  onError(reason: string): void;
}

const HUNT_WINDOW = 64 * 1024;

export class Http2Framer {
  /** Client side: the 24-byte preface may come first (absent when joined midway). */
  expectPreface: boolean;
  hunting = false;
  /** The peer's SETTINGS_MAX_FRAME_SIZE for frames this side receives... used for sanity only. */
  maxFrame = MAX_FRAME_SIZE_LIMIT;
  private readonly opts: FramerOptions;
  private readonly head = Buffer.alloc(FRAME_HEADER);
  private headLen = 0;
  private prefaceSeen = 0;
  private inBody = false;
  private type = 0;
  private flags = 0;
  private stream = 0;
  private length = 0;
  private remaining = 0;
  private keep = true;
  private body: Buffer | undefined;
  private fill = 0;
  private huntBuf: Buffer | undefined;

  constructor(opts: FramerOptions, expectPreface: boolean) {
    this.opts = opts;
    this.expectPreface = expectPreface;
  }

  get buffered(): number {
    return this.headLen + (this.body?.length ?? 0) + (this.huntBuf?.length ?? 0);
  }

  lose(): void {
    this.headLen = 0;
    this.inBody = false;
    this.body = undefined;
    this.huntBuf = undefined;
    this.expectPreface = false;
    this.hunting = true;
  }

  push(chunk: Buffer, sink: FrameSink): void {
    let data = chunk;
    let pos = 0;
    while (pos < data.length) {
      if (this.expectPreface) {
        // Match the preface byte by byte; anything else means it is not there.
        while (pos < data.length && this.prefaceSeen < CONNECTION_PREFACE.length) {
          if (data[pos] !== CONNECTION_PREFACE[this.prefaceSeen]) {
            this.expectPreface = false;
            if (this.prefaceSeen > 0) {
              this.opts.onError('bad-preface');
              this.lose();
            }
            break;
          }
          this.prefaceSeen++;
          pos++;
        }
        if (this.prefaceSeen === CONNECTION_PREFACE.length) this.expectPreface = false;
        continue;
      }
      if (this.hunting) {
        const found = this.hunt(data.subarray(pos));
        if (found === undefined) return;
        data = found;
        pos = 0;
        continue;
      }
      if (this.inBody) {
        pos = this.feed(data, pos, sink);
        continue;
      }
      let header: Buffer;
      if (this.headLen === 0 && data.length - pos >= FRAME_HEADER) {
        header = data.subarray(pos, pos + FRAME_HEADER);
        pos += FRAME_HEADER;
      } else {
        const take = Math.min(FRAME_HEADER - this.headLen, data.length - pos);
        data.copy(this.head, this.headLen, pos, pos + take);
        this.headLen += take;
        pos += take;
        if (this.headLen < FRAME_HEADER) return;
        header = this.head;
        this.headLen = 0;
      }
      this.length = header.readUIntBE(0, 3);
      this.type = header[3]!;
      this.flags = header[4]!;
      this.stream = header.readUInt32BE(5) & 0x7fffffff;
      this.remaining = this.length;
      // DATA payloads stream through; other frames must fit the limit.
      this.keep = this.type === T_DATA || this.length <= this.opts.maxPayload;
      if (!this.keep) this.opts.onDropped('frame-too-large', this.length);
      this.body = undefined;
      this.fill = 0;
      this.inBody = true;
      if (this.length === 0) pos = this.feed(data, pos, sink);
    }
  }

  private padLen = 0;

  private feed(data: Buffer, pos: number, sink: FrameSink): number {
    if (this.type === T_DATA) return this.feedData(data, pos, sink);
    const avail = data.length - pos;
    if (
      this.fill === 0 &&
      this.body === undefined &&
      avail >= this.remaining &&
      this.remaining === this.length
    ) {
      const end = pos + this.remaining;
      this.inBody = false;
      sink.frame(
        this.type,
        this.flags,
        this.stream,
        this.keep ? data.subarray(pos, end) : undefined,
        this.length,
      );
      return end;
    }
    const take = Math.min(avail, this.remaining);
    if (this.keep) {
      if (this.body === undefined) this.body = Buffer.allocUnsafe(this.length);
      data.copy(this.body, this.fill, pos, pos + take);
      this.fill += take;
    }
    this.remaining -= take;
    if (this.remaining > 0) return pos + take;
    this.inBody = false;
    const body = this.keep ? this.body : undefined;
    this.body = undefined;
    this.fill = 0;
    sink.frame(this.type, this.flags, this.stream, body, this.length);
    return pos + take;
  }

  /** DATA streams through in pieces, never buffered: bodies can be any size. */
  private feedData(data: Buffer, pos: number, sink: FrameSink): number {
    const take = Math.min(data.length - pos, this.remaining);
    const first = this.remaining === this.length;
    let from = pos;
    const to = pos + take;
    if (first) {
      this.padLen = 0;
      if ((this.flags & F_PADDED) !== 0 && take > 0) {
        this.padLen = data[pos]!;
        from++;
        if (this.padLen >= this.length) {
          this.opts.onError('bad-padding');
          this.padLen = this.length - 1;
        }
      }
    }
    // Content occupies frame offsets [dataStart, length - padLen).
    const contentEnd = this.length - this.padLen;
    // Frame offset of `pos` is length - remaining (before this piece is taken).
    const usable = Math.max(0, Math.min(to, pos + (contentEnd - (this.length - this.remaining))) - from);
    this.remaining -= take;
    const last = this.remaining === 0;
    if (last) this.inBody = false;
    sink.data(
      this.stream,
      data.subarray(from, from + usable),
      first ? this.length + FRAME_HEADER : 0,
      last,
      last ? this.flags : 0,
    );
    return to;
  }

  private hunt(more: Buffer): Buffer | undefined {
    let buf = this.huntBuf === undefined ? more : Buffer.concat([this.huntBuf, more]);
    this.huntBuf = undefined;
    const max = Math.min(this.maxFrame, this.opts.maxPayload);
    for (let i = 0; i < buf.length; i++) {
      if (buf.length - i < FRAME_HEADER) {
        buf = buf.subarray(i);
        break;
      }
      if (!plausibleHeader(buf, i, max)) continue;
      const next = i + FRAME_HEADER + buf.readUIntBE(i, 3);
      if (buf.length < next + FRAME_HEADER) {
        // Cannot confirm yet: keep from here and wait.
        if (i > 0) this.opts.onDropped('resync', i);
        buf = buf.subarray(i);
        if (buf.length > HUNT_WINDOW) {
          this.opts.onDropped('resync', buf.length - FRAME_HEADER);
          buf = buf.subarray(buf.length - FRAME_HEADER);
        }
        this.huntBuf = Buffer.from(buf);
        return undefined;
      }
      if (!plausibleHeader(buf, next, max)) continue;
      if (i > 0) this.opts.onDropped('resync', i);
      this.hunting = false;
      return buf.subarray(i);
    }
    if (buf.length >= FRAME_HEADER) {
      this.opts.onDropped('resync', buf.length - FRAME_HEADER + 1);
      buf = buf.subarray(buf.length - FRAME_HEADER + 1);
    }
    this.huntBuf = buf.length > 0 ? Buffer.from(buf) : undefined;
    return undefined;
  }
}
