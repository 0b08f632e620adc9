/**
 * HTTP/2 framing (RFC 9113 §4, §6): constants and a per-direction framer. A frame is a
 * 9-byte header (length 24, type 8, flags 8, R+stream 31) and its payload. Frames over the
 * limit are skipped and reported (only DATA may be that large without being malformed, and
 * DATA streams through in pieces). The client's connection preface is matched first; after
 * a gap the framer trusts a boundary again only at two consecutive plausible frame headers.
 * Views, copies and hunting are the shared framing core's.
 */
import { type AnchorVerdict, BODY_SKIP, BODY_STREAM, BODY_WHOLE, LengthPrefixedFramer } from '../framing.ts';

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

export class Http2Framer extends LengthPrefixedFramer<FrameSink> {
  /** Client side: the 24-byte preface may come first (absent when joined midway). */
  expectPreface: boolean;
  /** The peer's SETTINGS_MAX_FRAME_SIZE for frames this side receives... used for sanity only. */
  maxFrame = MAX_FRAME_SIZE_LIMIT;
  private readonly opts: FramerOptions;
  private prefaceSeen = 0;
  private type = 0;
  private flags = 0;
  private stream = 0;
  private padLen = 0;

  constructor(opts: FramerOptions, expectPreface: boolean) {
    // After an overflowing hunt window, keep one header's worth of its tail.
    super({ maxHeader: FRAME_HEADER, onDropped: opts.onDropped, huntTail: FRAME_HEADER });
    this.opts = opts;
    this.expectPreface = expectPreface;
  }

  override lose(): void {
    super.lose();
    this.expectPreface = false;
  }

  override push(chunk: Buffer, sink: FrameSink): void {
    const pos = this.expectPreface ? this.matchPreface(chunk) : 0;
    if (pos < chunk.length) super.push(pos === 0 ? chunk : chunk.subarray(pos), sink);
  }

  /** Consumes the part of the preface at the start of `chunk`; anything else means it is not there. */
  private matchPreface(chunk: Buffer): number {
    let pos = 0;
    while (pos < chunk.length && this.prefaceSeen < CONNECTION_PREFACE.length) {
      if (chunk[pos] !== CONNECTION_PREFACE[this.prefaceSeen]) {
        this.expectPreface = false;
        if (this.prefaceSeen > 0) {
          this.opts.onError('bad-preface');
          this.lose();
        }
        return pos;
      }
      this.prefaceSeen++;
      pos++;
    }
    if (this.prefaceSeen === CONNECTION_PREFACE.length) this.expectPreface = false;
    return pos;
  }

  protected headerSize(): number {
    return FRAME_HEADER;
  }

  protected readHeader(buf: Buffer, at: number): boolean {
    const length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
    this.type = buf[at + 3]!;
    this.flags = buf[at + 4]!;
    this.stream = buf.readUInt32BE(at + 5) & 0x7fffffff;
    this.bodyLength = length;
    // DATA payloads stream through; other frames must fit the limit.
    if (this.type === T_DATA) this.mode = BODY_STREAM;
    else if (length <= this.opts.maxPayload) this.mode = BODY_WHOLE;
    else {
      this.opts.onDropped('frame-too-large', length);
      this.mode = BODY_SKIP;
    }
    return true;
  }

  protected deliver(sink: FrameSink, payload: Buffer | undefined): void {
    sink.frame(this.type, this.flags, this.stream, payload, this.bodyLength);
  }

  /** DATA streams through in pieces, never buffered: bodies can be any size. */
  protected override piece(sink: FrameSink, data: Buffer, from: number, to: number, offset: number): void {
    const length = this.bodyLength;
    const first = offset === 0;
    let start = from;
    if (first) {
      this.padLen = 0;
      if ((this.flags & F_PADDED) !== 0 && to > from) {
        this.padLen = data[from]!;
        start++;
        if (this.padLen >= length) {
          this.opts.onError('bad-padding');
          this.padLen = length - 1;
        }
      }
    }
    // Content occupies frame offsets [1 if padded, length - padLen); `from` is at `offset`.
    const contentEnd = length - this.padLen;
    const usable = Math.max(0, Math.min(to, from + (contentEnd - offset)) - start);
    const last = this.remaining === 0;
    sink.data(
      this.stream,
      data.subarray(start, start + usable),
      first ? length + FRAME_HEADER : 0,
      last,
      last ? this.flags : 0,
    );
  }

  /** A boundary after a gap is two consecutive plausible frame headers. */
  protected anchor(buf: Buffer, at: number): AnchorVerdict {
    if (buf.length - at < FRAME_HEADER) return 'more';
    const max = Math.min(this.maxFrame, this.opts.maxPayload);
    if (!plausibleHeader(buf, at, max)) return 'no';
    const next = at + FRAME_HEADER + buf.readUIntBE(at, 3);
    if (buf.length < next + FRAME_HEADER) return 'more';
    return plausibleHeader(buf, next, max) ? 'yes' : 'no';
  }
}
