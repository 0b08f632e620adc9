/**
 * The AWS event stream encoding (`application/vnd.amazon.eventstream`), used by Bedrock's
 * ConverseStream and InvokeModelWithResponseStream: a sequence of binary messages, each
 *   total length u32 | headers length u32 | prelude CRC32 u32 | headers | payload | message CRC32 u32
 * with typed headers (`:event-type`, `:message-type`, `:exception-type`, ...). CRCs are
 * checked so that a bit flip is reported, not misread.
 */
import { crc32 } from 'node:zlib';

export interface EventStreamMessage {
  headers: Record<string, string | number | boolean>;
  payload: Buffer;
}

const PRELUDE = 12;
const MIN_MESSAGE = PRELUDE + 4;
/** The service limit is 16 MiB per message; anything larger is corruption. */
const MAX_MESSAGE = 16 * 1024 * 1024;

const HEADER_TRUE = 0;
const HEADER_FALSE = 1;
const HEADER_BYTE = 2;
const HEADER_SHORT = 3;
const HEADER_INT = 4;
const HEADER_LONG = 5;
const HEADER_BYTES = 6;
const HEADER_STRING = 7;
const HEADER_TIMESTAMP = 8;
const HEADER_UUID = 9;

export type EventStreamError =
  | 'truncated'
  | 'bad-length'
  | 'bad-prelude-crc'
  | 'bad-message-crc'
  | 'bad-header';

function parseHeaders(b: Buffer): Record<string, string | number | boolean> | undefined {
  const out: Record<string, string | number | boolean> = {};
  let o = 0;
  while (o < b.length) {
    const nameLen = b[o]!;
    if (o + 1 + nameLen + 1 > b.length) return undefined;
    const name = b.toString('utf8', o + 1, o + 1 + nameLen);
    o += 1 + nameLen;
    const type = b[o++]!;
    let size: number;
    switch (type) {
      case HEADER_TRUE:
      case HEADER_FALSE:
        out[name] = type === HEADER_TRUE;
        continue;
      case HEADER_BYTE:
        size = 1;
        break;
      case HEADER_SHORT:
        size = 2;
        break;
      case HEADER_INT:
        size = 4;
        break;
      case HEADER_LONG:
      case HEADER_TIMESTAMP:
        size = 8;
        break;
      case HEADER_UUID:
        size = 16;
        break;
      case HEADER_BYTES:
      case HEADER_STRING: {
        if (o + 2 > b.length) return undefined;
        const len = b.readUInt16BE(o);
        o += 2;
        if (o + len > b.length) return undefined;
        out[name] =
          type === HEADER_STRING ? b.toString('utf8', o, o + len) : b.toString('base64', o, o + len);
        o += len;
        continue;
      }
      default:
        return undefined;
    }
    if (o + size > b.length) return undefined;
    if (size === 1) out[name] = b.readInt8(o);
    else if (size === 2) out[name] = b.readInt16BE(o);
    else if (size === 4) out[name] = b.readInt32BE(o);
    else if (size === 8) out[name] = Number(b.readBigInt64BE(o));
    else out[name] = b.toString('hex', o, o + size);
    o += size;
  }
  return out;
}

/**
 * Decodes every whole message in `body`. Stops at the first damaged one and says why, so
 * a truncated capture still yields the messages before the cut.
 */
export function decodeEventStream(body: Buffer): {
  messages: EventStreamMessage[];
  error?: EventStreamError;
} {
  const messages: EventStreamMessage[] = [];
  let o = 0;
  while (o < body.length) {
    if (body.length - o < MIN_MESSAGE) return { messages, error: 'truncated' };
    const total = body.readUInt32BE(o);
    const headersLength = body.readUInt32BE(o + 4);
    if (total < MIN_MESSAGE || total > MAX_MESSAGE || headersLength > total - MIN_MESSAGE) {
      return { messages, error: 'bad-length' };
    }
    if (crc32(body.subarray(o, o + 8)) !== body.readUInt32BE(o + 8))
      return { messages, error: 'bad-prelude-crc' };
    if (o + total > body.length) return { messages, error: 'truncated' };
    const end = o + total;
    if (crc32(body.subarray(o, end - 4)) !== body.readUInt32BE(end - 4))
      return { messages, error: 'bad-message-crc' };
    const headers = parseHeaders(body.subarray(o + PRELUDE, o + PRELUDE + headersLength));
    if (headers === undefined) return { messages, error: 'bad-header' };
    messages.push({ headers, payload: body.subarray(o + PRELUDE + headersLength, end - 4) });
    o = end;
  }
  return { messages };
}

/** Encodes one message with string headers (tests and the local Bedrock test server). */
export function encodeEventStreamMessage(headers: Record<string, string>, payload: Buffer): Buffer {
  const hs: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const h = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
    h[0] = n.length;
    n.copy(h, 1);
    h[1 + n.length] = HEADER_STRING;
    h.writeUInt16BE(v.length, 2 + n.length);
    v.copy(h, 4 + n.length);
    hs.push(h);
  }
  const headerBytes = Buffer.concat(hs);
  const total = PRELUDE + headerBytes.length + payload.length + 4;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headerBytes.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  headerBytes.copy(out, PRELUDE);
  payload.copy(out, PRELUDE + headerBytes.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - 4)), total - 4);
  return out;
}
