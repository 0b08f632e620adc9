/**
 * One framing core for the length-prefixed wire protocols (PostgreSQL, MySQL, HTTP/2): each
 * says how long its header is and what the header holds; the core does the rest, the same
 * way for all. A header is read in place when it is whole in the chunk and gathered in a
 * small buffer when it is not. A body is handed on as a view of the chunk when it is whole
 * in it and copied only when it spans chunks, and never more of it than the protocol keeps
 * (traffic is untrusted). After a gap the core hunts for a boundary the protocol vouches for,
 * within a bounded window, so one lost segment costs the messages around it and nothing else.
 */

/** Whether a message plausibly starts at `at`: yes, no, or cannot tell yet (need more bytes). */
export type AnchorVerdict = 'yes' | 'no' | 'more';
export type Anchor = (buf: Buffer, at: number) => AnchorVerdict;

// How the current message's body is handed on; the protocol picks one per header.
/** The whole body: a view when whole in the chunk, else copied. */
export const BODY_WHOLE = 0;
/** Not handed on (undefined): unwanted or over the limit. Its bytes are passed over. */
export const BODY_SKIP = 1;
/** Over the limit: a view when whole in the chunk (free), else only its first `prefixBytes` copied. */
export const BODY_PREFIX = 2;
/** Handed on piece by piece as it arrives, never buffered (bodies of any size). */
export const BODY_STREAM = 3;
export type BodyMode = typeof BODY_WHOLE | typeof BODY_SKIP | typeof BODY_PREFIX | typeof BODY_STREAM;

export interface FramingOptions {
  /** The longest header the protocol has. */
  maxHeader: number;
  onDropped(reason: string, bytes: number): void;
  /** Bytes kept from the end of the hunt window when it overflows. */
  huntTail?: number;
}

/** Bytes kept while hunting for a message start before the oldest are let go. */
export const HUNT_WINDOW = 64 * 1024;
const HUNT_TAIL = 16;

export abstract class LengthPrefixedFramer<Sink> {
  /** Looking for a message boundary after a gap or a mid-connection join. */
  hunting = false;
  /** Set by the session to stop parsing (TLS took over, or a fatal error). */
  stopped = false;

  /** Set by `readHeader`: the body's length and how it is handed on. */
  protected bodyLength = 0;
  protected mode: BodyMode = BODY_WHOLE;
  /** With BODY_PREFIX: how many of the body's first bytes to keep when it spans chunks. */
  protected prefixBytes = 0;
  /** Body bytes still to come. */
  protected remaining = 0;

  private readonly dropped: (reason: string, bytes: number) => void;
  private readonly huntTail: number;
  private readonly head: Buffer;
  private headLen = 0;
  private need = 0;
  private inBody = false;
  /** Body bytes to copy when the body spans chunks. */
  private cap = 0;
  private body: Buffer | undefined;
  private fill = 0;
  private huntBuf: Buffer | undefined;

  constructor(opts: FramingOptions) {
    this.dropped = opts.onDropped;
    this.huntTail = opts.huntTail ?? HUNT_TAIL;
    this.head = Buffer.alloc(opts.maxHeader);
  }

  /** Header bytes of the next message, asked as it starts; 0 means its body follows at once. */
  protected abstract headerSize(): number;
  /**
   * Reads the `size`-byte header at `buf[at…]` (`size` as `headerSize` said when it started):
   * sets bodyLength and mode; false when the header is malformed.
   */
  protected abstract readHeader(buf: Buffer, at: number, size: number): boolean;
  /** Hands on a finished message; `whole` is false when only a prefix of its body was kept. */
  protected abstract deliver(sink: Sink, body: Buffer | undefined, whole: boolean): void;
  /** While hunting: whether a message plausibly starts at `buf[at]`. */
  protected abstract anchor(buf: Buffer, at: number): AnchorVerdict;

  /** With BODY_STREAM: bytes `data[from, to)` of the body, from body offset `offset` on. */
  protected piece(_sink: Sink, _data: Buffer, _from: number, _to: number, _offset: number): void {}

  /** Bytes buffered right now (a gathered header, a spanning body, the hunt window). */
  get buffered(): number {
    return this.headLen + (this.body?.length ?? 0) + (this.huntBuf?.length ?? 0);
  }

  /** Forget any partial message and hunt for the next boundary. */
  lose(): void {
    this.headLen = 0;
    this.inBody = false;
    this.body = undefined;
    this.huntBuf = undefined;
    this.hunting = true;
  }

  push(chunk: Buffer, sink: Sink): void {
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
        pos = this.feed(data, pos, sink);
        continue;
      }
      // The header's size is fixed when it starts (a session may change what comes next meanwhile).
      if (this.headLen === 0) this.need = this.headerSize();
      const need = this.need;
      let header = data;
      let at = pos;
      if (this.headLen === 0 && data.length - pos >= need) {
        pos += need;
      } else {
        const take = Math.min(need - this.headLen, data.length - pos);
        data.copy(this.head, this.headLen, pos, pos + take);
        this.headLen += take;
        pos += take;
        if (this.headLen < need) return;
        header = this.head;
        at = 0;
        this.headLen = 0;
      }
      if (!this.readHeader(header, at, need)) {
        this.lose();
        continue;
      }
      const mode = this.mode;
      this.cap =
        mode === BODY_WHOLE
          ? this.bodyLength
          : mode === BODY_PREFIX
            ? Math.min(this.prefixBytes, this.bodyLength)
            : 0;
      this.remaining = this.bodyLength;
      this.body = undefined;
      this.fill = 0;
      this.inBody = true;
      if (this.remaining === 0) pos = this.feed(data, pos, sink);
    }
  }

  private feed(data: Buffer, pos: number, sink: Sink): number {
    const avail = data.length - pos;
    const take = Math.min(avail, this.remaining);
    if (this.mode === BODY_STREAM) {
      const offset = this.bodyLength - this.remaining;
      this.remaining -= take;
      if (this.remaining === 0) this.inBody = false;
      this.piece(sink, data, pos, pos + take, offset);
      return pos + take;
    }
    if (take === this.remaining && this.remaining === this.bodyLength && this.mode !== BODY_SKIP) {
      // Nothing of it consumed yet and all of it in this chunk: hand on a view, no copy.
      const end = pos + take;
      this.remaining = 0;
      this.inBody = false;
      this.deliver(sink, data.subarray(pos, end), true);
      return end;
    }
    if (this.fill < this.cap) {
      if (this.body === undefined) this.body = Buffer.allocUnsafe(this.cap);
      const n = Math.min(take, this.cap - this.fill);
      data.copy(this.body, this.fill, pos, pos + n);
      this.fill += n;
    }
    this.remaining -= take;
    if (this.remaining > 0) return pos + take;
    this.inBody = false;
    const body = this.body?.subarray(0, this.fill);
    this.body = undefined;
    this.deliver(sink, body, this.mode === BODY_WHOLE);
    return pos + take;
  }

  /** Returns the bytes from a vouched-for boundary on, or undefined to wait for more. */
  private hunt(more: Buffer): Buffer | undefined {
    let buf = this.huntBuf === undefined ? more : Buffer.concat([this.huntBuf, more]);
    this.huntBuf = undefined;
    for (let i = 0; i < buf.length; i++) {
      const verdict = this.anchor(buf, i);
      if (verdict === 'no') continue;
      if (i > 0) this.dropped('resync', i);
      if (verdict === 'yes') {
        this.hunting = false;
        return buf.subarray(i);
      }
      buf = buf.subarray(i);
      if (buf.length > HUNT_WINDOW) {
        this.dropped('resync', buf.length - this.huntTail);
        buf = buf.subarray(buf.length - this.huntTail);
      }
      this.huntBuf = Buffer.from(buf);
      return undefined;
    }
    if (buf.length > 0) this.dropped('resync', buf.length);
    return undefined;
  }
}
