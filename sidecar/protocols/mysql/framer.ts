/**
 * Frames one direction of a MySQL connection into packets: `length(3, LE) seq(1) payload`.
 * A spanning packet over the limit is not copied, only its first bytes are kept (enough to
 * tell a row from an EOF/OK/ERR); the rest (views, copies, hunting after a gap) is the
 * shared framing core.
 */
import {
  type Anchor,
  type AnchorVerdict,
  BODY_PREFIX,
  BODY_WHOLE,
  LengthPrefixedFramer,
} from '../framing.ts';

/** `payload` holds the whole payload, or its first bytes when `whole` is false. */
export type PacketSink = (seq: number, payload: Buffer, length: number, whole: boolean) => void;

export interface MysqlFramerOptions {
  maxPayload: number;
  anchor: Anchor;
  onDropped(reason: string, bytes: number): void;
}

const HEADER = 4;
/** Payload bytes kept of a packet over the limit. */
const PREFIX = 64;
const EMPTY = Buffer.alloc(0);

export class MysqlFramer extends LengthPrefixedFramer<PacketSink> {
  private readonly opts: MysqlFramerOptions;
  private seq = 0;

  constructor(opts: MysqlFramerOptions) {
    super({ maxHeader: HEADER, onDropped: opts.onDropped });
    this.opts = opts;
  }

  protected anchor(buf: Buffer, at: number): AnchorVerdict {
    return this.opts.anchor(buf, at);
  }

  protected headerSize(): number {
    return HEADER;
  }

  protected readHeader(buf: Buffer, at: number): boolean {
    this.bodyLength = buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16);
    this.seq = buf[at + 3]!;
    if (this.bodyLength <= this.opts.maxPayload) {
      this.mode = BODY_WHOLE;
    } else {
      this.mode = BODY_PREFIX;
      this.prefixBytes = PREFIX;
    }
    return true;
  }

  protected deliver(sink: PacketSink, body: Buffer | undefined, whole: boolean): void {
    // Never undefined here: no packet is skipped, an oversized one keeps its prefix.
    const payload = body ?? EMPTY;
    if (!whole) this.opts.onDropped('packet-too-large', this.bodyLength - payload.length);
    sink(this.seq, payload, this.bodyLength, whole);
  }
}
