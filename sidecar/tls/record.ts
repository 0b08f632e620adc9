/**
 * TLS record layer framing (RFC 8446 §5, RFC 5246 §6.2). One RecordReader per connection
 * and direction: `parse(chunk, onRecord)` frames whole records and hands them on as views
 * into the chunk; only a record that spans chunks is copied. Handshake messages are framed a
 * second time by HandshakeReader because one message may span records and one record may
 * hold several messages.
 */

export const CONTENT_CHANGE_CIPHER_SPEC = 20;
export const CONTENT_ALERT = 21;
export const CONTENT_HANDSHAKE = 22;
export const CONTENT_APPLICATION_DATA = 23;
export const CONTENT_HEARTBEAT = 24;

export const HS_CLIENT_HELLO = 1;
export const HS_SERVER_HELLO = 2;
export const HS_NEW_SESSION_TICKET = 4;
export const HS_END_OF_EARLY_DATA = 5;
export const HS_ENCRYPTED_EXTENSIONS = 8;
export const HS_CERTIFICATE = 11;
export const HS_SERVER_KEY_EXCHANGE = 12;
export const HS_CERTIFICATE_REQUEST = 13;
export const HS_SERVER_HELLO_DONE = 14;
export const HS_CERTIFICATE_VERIFY = 15;
export const HS_CLIENT_KEY_EXCHANGE = 16;
export const HS_FINISHED = 20;
export const HS_KEY_UPDATE = 24;

export const RECORD_HEADER_LENGTH = 5;
/** Largest TLSCiphertext fragment any version allows (2^14 + 2048, RFC 5246 §6.2.3). */
export const MAX_FRAGMENT_LENGTH = 16384 + 2048;
/** Handshake messages above this size (a huge certificate chain) are skipped, not buffered. */
export const DEFAULT_MAX_HANDSHAKE_LENGTH = 256 * 1024;

export interface TlsRecord {
  type: number;
  version: number;
  /** The 5 header bytes: TLS 1.3 and 1.2 AEADs authenticate (parts of) them. */
  header: Buffer;
  fragment: Buffer;
}

export type RecordError = 'bad-content-type' | 'bad-version' | 'oversized-record';

/** Checks a record header; undefined when it is plausible. */
export function checkRecordHeader(b: Buffer, offset: number): RecordError | undefined {
  const type = b[offset]!;
  if (type < CONTENT_CHANGE_CIPHER_SPEC || type > CONTENT_HEARTBEAT) return 'bad-content-type';
  if (b[offset + 1] !== 3 || b[offset + 2]! > 4) return 'bad-version';
  if (b.readUInt16BE(offset + 3) > MAX_FRAGMENT_LENGTH) return 'oversized-record';
  return undefined;
}

/**
 * Frames records from one direction's in-order bytes. After a framing error the stream
 * cannot be resynchronized (records have no marker), so the reader stops and counts the
 * rest as skipped.
 */
export class RecordReader {
  /** Pieces of one incomplete record, copied (chunks are views of reusable capture buffers). */
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** Length of the record being gathered, once its header is known (0 before). */
  private needed = 0;
  failed: RecordError | undefined;
  /** Bytes handed to parse() after a framing error, or dropped at a gap. */
  skippedBytes = 0;

  parse(chunk: Buffer, onRecord: (record: TlsRecord) => void): RecordError | undefined {
    if (this.failed !== undefined) {
      this.skippedBytes += chunk.length;
      return undefined;
    }
    let buf = chunk;
    if (this.partsLength > 0) {
      // Gather until the record is whole, then copy once (no quadratic re-concatenation).
      this.parts.push(Buffer.from(chunk));
      this.partsLength += chunk.length;
      if (this.needed === 0 && this.partsLength >= RECORD_HEADER_LENGTH) {
        const head = Buffer.concat(this.parts, this.partsLength);
        this.parts = [head];
        const error = checkRecordHeader(head, 0);
        if (error !== undefined) return this.fail(error, head.length);
        this.needed = RECORD_HEADER_LENGTH + head.readUInt16BE(3);
      }
      if (this.needed === 0 || this.partsLength < this.needed) return undefined;
      buf = Buffer.concat(this.parts, this.partsLength);
      this.parts = [];
      this.partsLength = 0;
      this.needed = 0;
    }
    let offset = 0;
    while (buf.length - offset >= RECORD_HEADER_LENGTH) {
      const error = checkRecordHeader(buf, offset);
      if (error !== undefined) return this.fail(error, buf.length - offset);
      const end = offset + RECORD_HEADER_LENGTH + buf.readUInt16BE(offset + 3);
      if (end > buf.length) {
        this.needed = end - offset;
        break;
      }
      onRecord({
        type: buf[offset]!,
        version: buf.readUInt16BE(offset + 1),
        header: buf.subarray(offset, offset + RECORD_HEADER_LENGTH),
        fragment: buf.subarray(offset + RECORD_HEADER_LENGTH, end),
      });
      offset = end;
    }
    if (offset < buf.length) {
      this.parts = [Buffer.from(buf.subarray(offset))];
      this.partsLength = buf.length - offset;
    }
    return undefined;
  }

  private fail(error: RecordError, bytes: number): RecordError {
    this.failed = error;
    this.skippedBytes += bytes;
    this.parts = [];
    this.partsLength = 0;
    this.needed = 0;
    return error;
  }

  /** Bytes of an incomplete record held back, for the memory bound and for tests. */
  get bufferedBytes(): number {
    return this.partsLength;
  }

  /** Drops the partial record after a capture gap; framing cannot continue after one. */
  gap(): void {
    this.skippedBytes += this.partsLength;
    this.parts = [];
    this.partsLength = 0;
    this.needed = 0;
    this.failed = 'bad-content-type';
  }
}

export interface HandshakeMessage {
  type: number;
  /** The message body, without its 4-byte header. */
  body: Buffer;
  /** Header and body, as hashed into the transcript. */
  raw: Buffer;
}

/** Frames handshake messages out of handshake-record payloads (plaintext or decrypted). */
export class HandshakeReader {
  private pending: Buffer | undefined;
  private skipping = 0;
  readonly maxLength: number;
  /** Bytes of messages too large to keep, skipped whole. */
  skippedBytes = 0;

  constructor(maxLength = DEFAULT_MAX_HANDSHAKE_LENGTH) {
    this.maxLength = maxLength;
  }

  parse(payload: Buffer, onMessage: (message: HandshakeMessage) => void): void {
    let buf = payload;
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, buf.length);
      this.skipping -= n;
      this.skippedBytes += n;
      buf = buf.subarray(n);
    }
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, buf]);
      this.pending = undefined;
    }
    let offset = 0;
    while (buf.length - offset >= 4) {
      const length = buf.readUIntBE(offset + 1, 3);
      if (length > this.maxLength) {
        const available = buf.length - offset - 4;
        const n = Math.min(length, available);
        this.skippedBytes += 4 + n;
        this.skipping = length - n;
        offset += 4 + n;
        continue;
      }
      const end = offset + 4 + length;
      if (end > buf.length) break;
      onMessage({ type: buf[offset]!, body: buf.subarray(offset + 4, end), raw: buf.subarray(offset, end) });
      offset = end;
    }
    // A copy: the payload may be a view of a capture buffer.
    if (offset < buf.length) this.pending = Buffer.from(buf.subarray(offset));
  }

  get bufferedBytes(): number {
    return this.pending?.length ?? 0;
  }
}
