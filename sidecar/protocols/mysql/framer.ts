/**
 * Frames one direction of a MySQL connection into packets: `length(3, LE) seq(1) payload`.
 * Payloads are handed on as views of the chunk and copied only when a packet spans chunks;
 * a spanning packet over the limit is not copied, only its first bytes are kept (enough to
 * tell a row from an EOF/OK/ERR). After a gap the framer hunts for a packet start the
 * caller vouches for.
 */

/** `payload` holds the whole payload, or its first bytes when `whole` is false. */
export type PacketSink = (seq: number, payload: Buffer, length: number, whole: boolean) => void;
export type Anchor = (buf: Buffer, at: number) => 'yes' | 'no' | 'more';

export interface MysqlFramerOptions {
  maxPayload: number;
  anchor: Anchor;
  onDropped(reason: string, bytes: number): void;
}

const HEADER = 4;
const PREFIX = 64;
const HUNT_WINDOW = 64 * 1024;

export class MysqlFramer {
  hunting = false;
  stopped = false;
  private readonly opts: MysqlFramerOptions;
  private readonly head = Buffer.alloc(HEADER);
  private headLen = 0;
  private inBody = false;
  private seq = 0;
  private length = 0;
  private remaining = 0;
  private keep = true;
  private body: Buffer | undefined;
  private fill = 0;
  private huntBuf: Buffer | undefined;

  constructor(opts: MysqlFramerOptions) {
    this.opts = opts;
  }

  get buffered(): number {
    return this.headLen + (this.body?.length ?? 0) + (this.huntBuf?.length ?? 0);
  }

  lose(): void {
    this.headLen = 0;
    this.inBody = false;
    this.body = undefined;
    this.huntBuf = undefined;
    this.hunting = true;
  }

  push(chunk: Buffer, sink: PacketSink): void {
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
      let header: Buffer;
      if (this.headLen === 0 && data.length - pos >= HEADER) {
        header = data.subarray(pos, pos + HEADER);
        pos += HEADER;
      } else {
        const take = Math.min(HEADER - this.headLen, data.length - pos);
        data.copy(this.head, this.headLen, pos, pos + take);
        this.headLen += take;
        pos += take;
        if (this.headLen < HEADER) return;
        header = this.head;
        this.headLen = 0;
      }
      this.length = header.readUIntLE(0, 3);
      this.seq = header[3]!;
      this.remaining = this.length;
      this.keep = this.length <= this.opts.maxPayload;
      this.body = undefined;
      this.fill = 0;
      this.inBody = true;
      if (this.length === 0) pos = this.feed(data, pos, sink);
    }
  }

  private feed(data: Buffer, pos: number, sink: PacketSink): number {
    const avail = data.length - pos;
    if (this.body === undefined && this.fill === 0 && avail >= this.remaining) {
      const end = pos + this.remaining;
      this.inBody = false;
      sink(this.seq, data.subarray(pos, end), this.length, true);
      return end;
    }
    const take = Math.min(avail, this.remaining);
    const cap = this.keep ? this.length : Math.min(PREFIX, this.length);
    if (this.fill < cap) {
      if (this.body === undefined) this.body = Buffer.allocUnsafe(cap);
      const n = Math.min(take, cap - this.fill);
      data.copy(this.body, this.fill, pos, pos + n);
      this.fill += n;
    }
    this.remaining -= take;
    if (this.remaining > 0) return pos + take;
    this.inBody = false;
    const body = (this.body ?? Buffer.alloc(0)).subarray(0, this.fill);
    this.body = undefined;
    this.fill = 0;
    if (!this.keep) this.opts.onDropped('packet-too-large', this.length - body.length);
    sink(this.seq, body, this.length, this.keep);
    return pos + take;
  }

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
