/**
 * Frames one direction of a PostgreSQL connection into messages: `type(1) length(4) body`,
 * or `length(4) body` for the untyped startup message, or one bare byte for the answer to
 * SSLRequest. Bodies the session does not need (rows, COPY data) are skipped without
 * buffering; the rest (views, copies, hunting after a gap) is the shared framing core.
 */
import { type Anchor, type AnchorVerdict, BODY_SKIP, BODY_WHOLE, LengthPrefixedFramer } from '../framing.ts';
import { MAX_PROTOCOL_MESSAGE } from './constants.ts';

/** `body` is undefined when the caller did not want it or it was larger than the limit. */
export type MessageSink = (type: number, body: Buffer | undefined, size: number) => void;

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

const HEADER = 5;
const STARTUP_HEADER = 4;
/** The length field counts itself. */
const LENGTH_FIELD = 4;

export class PgFramer extends LengthPrefixedFramer<MessageSink> {
  /** The next message is the untyped startup message. */
  startup = false;
  /** The next byte is a bare answer to SSLRequest / GSSENCRequest. */
  singleByte = false;

  private readonly opts: FramerOptions;
  private type = 0;
  private size = 0;

  constructor(opts: FramerOptions) {
    super({ maxHeader: HEADER, onDropped: opts.onDropped });
    this.opts = opts;
  }

  override lose(): void {
    super.lose();
    this.singleByte = false;
    this.startup = false;
  }

  protected anchor(buf: Buffer, at: number): AnchorVerdict {
    return this.opts.anchor(buf, at);
  }

  protected headerSize(): number {
    // The single-byte answer is a message with no header and a one-byte body.
    return this.singleByte ? 0 : this.startup ? STARTUP_HEADER : HEADER;
  }

  protected readHeader(buf: Buffer, at: number, size: number): boolean {
    // Which kind of header this is was fixed when it started (the session may have set
    // `singleByte` meanwhile; that applies to the next message).
    if (size === 0) {
      this.singleByte = false;
      this.type = TYPE_SINGLE_BYTE;
      this.size = 1;
      this.bodyLength = 1;
      this.mode = BODY_WHOLE;
      return true;
    }
    let length: number;
    if (size === STARTUP_HEADER) {
      this.startup = false;
      this.type = TYPE_STARTUP;
      length = buf.readUInt32BE(at);
      this.size = length;
    } else {
      this.type = buf[at]!;
      length = buf.readUInt32BE(at + 1);
      this.size = length + 1;
    }
    if (length < LENGTH_FIELD || length > MAX_PROTOCOL_MESSAGE) {
      this.opts.onError('bad-length');
      return false;
    }
    this.bodyLength = length - LENGTH_FIELD;
    this.mode = BODY_WHOLE;
    if (!this.opts.wants(this.type)) this.mode = BODY_SKIP;
    else if (this.bodyLength > this.opts.maxBody) {
      this.opts.onDropped('message-too-large', this.bodyLength);
      this.mode = BODY_SKIP;
    }
    return true;
  }

  protected deliver(sink: MessageSink, body: Buffer | undefined): void {
    sink(this.type, body, this.size);
  }
}
