/**
 * WebSocket framing (RFC 6455 §5) for one direction: headers framed across chunks, masked
 * payloads unmasked only when kept, fragmented messages reassembled up to a limit,
 * control frames (close, ping, pong) checked and the close code read. WebSocket cannot
 * resynchronize after lost bytes, so a gap or a protocol error stops the decoder (the
 * bytes are still counted).
 */

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

const MAX_CONTROL_PAYLOAD = 125;
const MAX_HEADER = 14;

/** Parse error codes; close code 1002 (protocol error) is what a peer would answer. */
export const E_BAD_OPCODE = 'bad-opcode';
export const E_BAD_CONTROL = 'bad-control-frame';
export const E_BAD_CONTINUATION = 'bad-continuation';
export const E_TOO_LARGE = 'frame-too-large';
export const E_RESERVED_BITS = 'reserved-bits';

export interface FrameHandler {
  /** A complete data message: `payload` is the unmasked (still compressed) message when kept. */
  onMessage(
    opcode: number,
    compressed: boolean,
    wireBytes: number,
    payload: Buffer | undefined,
    truncated: boolean,
    startMs: number,
    endMs: number,
  ): void;
  onClose(code: number | undefined, tsMs: number): void;
  onError(code: string): void;
}

export class FrameDecoder {
  private readonly handler: FrameHandler;
  private readonly keep: boolean;
  private readonly maxKeep: number;
  private readonly allowCompression: boolean;
  private header = Buffer.alloc(MAX_HEADER);
  private headerHave = 0;
  private headerNeed = 2;
  private inPayload = false;
  private remaining = 0;
  private payloadPos = 0;
  private opcode = 0;
  private fin = false;
  private masked = false;
  private mask = Buffer.alloc(4);
  /** Message state across fragments. */
  private msgOpcode = -1;
  private msgCompressed = false;
  private msgBytes = 0;
  private msgStart = 0;
  private msgParts: Buffer[] = [];
  private msgKept = 0;
  private msgTruncated = false;
  private control: Buffer[] = [];
  stopped = false;

  constructor(handler: FrameHandler, keepMessages: boolean, maxKeep: number, allowCompression: boolean) {
    this.handler = handler;
    this.keep = keepMessages;
    this.maxKeep = maxKeep;
    this.allowCompression = allowCompression;
  }

  parse(chunk: Buffer, tsMs: number): void {
    let off = 0;
    while (off < chunk.length && !this.stopped) {
      if (!this.inPayload) {
        off = this.readHeader(chunk, off, tsMs);
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - off);
      this.payload(chunk.subarray(off, off + n));
      off += n;
      this.remaining -= n;
      if (this.opcode < 8) this.msgBytes += n;
      if (this.remaining === 0) this.endFrame(tsMs);
    }
  }

  /** Lost bytes: framing is gone for good in this direction. */
  stop(): void {
    this.stopped = true;
  }

  private readHeader(chunk: Buffer, off: number, tsMs: number): number {
    while (this.headerHave < this.headerNeed && off < chunk.length) {
      this.header[this.headerHave++] = chunk[off++]!;
      if (this.headerHave === 2) {
        const b1 = this.header[1]!;
        const len7 = b1 & 0x7f;
        this.headerNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      }
    }
    if (this.headerHave < this.headerNeed) return off;
    const h = this.header;
    const b0 = h[0]!;
    const b1 = h[1]!;
    this.fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    this.opcode = b0 & 0x0f;
    this.masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    let pos = 2;
    let len: number;
    if (len7 === 126) {
      len = h.readUInt16BE(2);
      pos = 4;
    } else if (len7 === 127) {
      const hi = h.readUInt32BE(2);
      if (hi > 0x1fffff) return this.fail(E_TOO_LARGE, chunk.length);
      len = hi * 2 ** 32 + h.readUInt32BE(6);
      pos = 10;
    } else {
      len = len7;
    }
    if (this.masked) h.copy(this.mask, 0, pos, pos + 4);
    const headerBytes = this.headerNeed;
    this.headerHave = 0;
    this.headerNeed = 2;
    if (
      (b0 & 0x30) !== 0 ||
      (rsv1 && (!this.allowCompression || this.opcode === OP_CONTINUATION || this.opcode >= 8))
    ) {
      return this.fail(E_RESERVED_BITS, chunk.length);
    }
    const op = this.opcode;
    if (op >= 8) {
      if (op !== OP_CLOSE && op !== OP_PING && op !== OP_PONG) return this.fail(E_BAD_OPCODE, chunk.length);
      if (!this.fin || len > MAX_CONTROL_PAYLOAD) return this.fail(E_BAD_CONTROL, chunk.length);
      this.control = [];
    } else if (op === OP_TEXT || op === OP_BINARY) {
      if (this.msgOpcode !== -1) return this.fail(E_BAD_CONTINUATION, chunk.length);
      this.msgOpcode = op;
      this.msgCompressed = rsv1;
      this.msgBytes = 0;
      this.msgStart = tsMs;
      this.msgParts = [];
      this.msgKept = 0;
      this.msgTruncated = false;
    } else if (op === OP_CONTINUATION) {
      if (this.msgOpcode === -1) return this.fail(E_BAD_CONTINUATION, chunk.length);
    } else {
      return this.fail(E_BAD_OPCODE, chunk.length);
    }
    if (op < 8) this.msgBytes += headerBytes;
    this.remaining = len;
    this.payloadPos = 0;
    this.inPayload = true;
    if (len === 0) this.endFrame(tsMs);
    return off;
  }

  private payload(view: Buffer): void {
    const op = this.opcode;
    if (op >= 8) {
      this.control.push(this.unmask(view, this.payloadPos));
    } else if (this.keep) {
      const room = this.maxKeep - this.msgKept;
      if (room < view.length) this.msgTruncated = true;
      if (room > 0) {
        const take = room < view.length ? view.subarray(0, room) : view;
        this.msgParts.push(this.unmask(take, this.payloadPos));
        this.msgKept += take.length;
      }
    }
    this.payloadPos += view.length;
  }

  /** A copy of `view`, unmasked; `pos` is its offset in the frame payload. */
  private unmask(view: Buffer, pos: number): Buffer {
    const out = Buffer.from(view);
    if (this.masked) {
      const m = this.mask;
      for (let i = 0; i < out.length; i++) out[i]! ^= m[(pos + i) & 3]!;
    }
    return out;
  }

  private endFrame(tsMs: number): void {
    this.inPayload = false;
    const op = this.opcode;
    if (op >= 8) {
      if (op === OP_CLOSE) {
        const body = Buffer.concat(this.control);
        this.handler.onClose(body.length >= 2 ? body.readUInt16BE(0) : undefined, tsMs);
      }
      return;
    }
    if (!this.fin) return;
    const payload = this.keep ? Buffer.concat(this.msgParts, this.msgKept) : undefined;
    const opcode = this.msgOpcode;
    this.msgOpcode = -1;
    this.msgParts = [];
    this.handler.onMessage(
      opcode,
      this.msgCompressed,
      this.msgBytes,
      payload,
      this.msgTruncated,
      this.msgStart,
      tsMs,
    );
  }

  private fail(code: string, end: number): number {
    this.handler.onError(code);
    this.stopped = true;
    return end;
  }
}
