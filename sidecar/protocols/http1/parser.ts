/**
 * HTTP/1.1 message framing (RFC 9112) for one direction of a connection, written for
 * passive parsing: it never answers, it tolerates joining mid-stream and losing bytes,
 * and it resynchronizes at the next message start after an error or a gap. One decoder
 * per direction, one entry point `parse(chunk, tsMs)`. Heads are framed (found complete)
 * before they are decoded; body bytes are handed on as views of the chunk.
 */

export const KIND_REQUEST = 0;
export const KIND_RESPONSE = 1;

/** What the session wants done with the body after a head (returned by onHead). */
export const BODY_AUTO = 0;
export const BODY_NONE = 1;
/** Stop framing: the rest of the bytes belong to another protocol (101, CONNECT 2xx). */
export const BODY_SWITCH = 2;
/** Hold later bytes until the session decides (a request asking to upgrade). */
export const BODY_HOLD = 3;

// Decoder states.
const S_HEAD = 0;
const S_BODY_LENGTH = 1;
const S_CHUNK_SIZE = 2;
const S_CHUNK_DATA = 3;
const S_CHUNK_DATA_END = 4;
const S_TRAILERS = 5;
const S_BODY_EOF = 6;
const S_RESYNC = 7;
const S_HOLD = 8;
const S_SWITCHED = 9;

const CR = 0x0d;
const LF = 0x0a;
const MAX_CHUNK_LINE = 1024;
const MAX_HEADERS = 256;
const MAX_HELD_BYTES = 1 << 16;

/** Parse error codes (stable; counted per code). */
export const E_HEAD_TOO_LARGE = 'head-too-large';
export const E_BAD_START_LINE = 'bad-start-line';
export const E_BAD_HEADER = 'bad-header';
export const E_BAD_LENGTH = 'bad-content-length';
export const E_BAD_CHUNK = 'bad-chunk';
export const E_HELD_OVERFLOW = 'upgrade-hold-overflow';

export interface MessageHead {
  method: string;
  target: string;
  statusCode: number;
  reason: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** Lower-case names; repeated headers joined with ", " (set-cookie with "\n"). */
  headers: Record<string, string>;
  headBytes: number;
}

export interface DecoderHandler {
  /** A complete head; returns a BODY_* decision. */
  onHead(head: MessageHead, tsMs: number): number;
  onBody(chunk: Buffer, tsMs: number): void;
  /** The message ended; `wireBytes` counts head, body and chunk framing. */
  onEnd(tsMs: number, wireBytes: number): void;
  /**
   * The message in flight lost bytes (gap, error). `wireBytes` is what was seen of it when
   * it is given up; -1 when framing survived and the message goes on, incomplete.
   */
  onAbort(tsMs: number, wireBytes: number, code: string): void;
  /** Bytes after a BODY_SWITCH head (or held bytes released by switching). */
  onSwitch(rest: Buffer, tsMs: number): void;
  onError(code: string): void;
}

const METHOD_RE = /^[A-Z][A-Z0-9_-]{0,19}$/;
// Message starts are distinctive enough to be looked for anywhere: the bytes before
// them are usually the tail of a body that ends without a newline.
const REQUEST_START = /(?:GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|TRACE) [^ \r\n]+ HTTP\/1\.[01]\r\n/;
const RESPONSE_START = /HTTP\/1\.[01] [1-5]\d\d[ \r]/;

export class Http1Decoder {
  private readonly kind: number;
  private readonly handler: DecoderHandler;
  private readonly maxHeadBytes: number;
  private state: number;
  /** Bytes of an incomplete head or chunk-size line, copied (they span chunks). */
  private pending: Buffer | undefined = undefined;
  private remaining = 0;
  private msgBytes = 0;
  private inMessage = false;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(kind: number, handler: DecoderHandler, maxHeadBytes: number, resyncFirst = false) {
    this.kind = kind;
    this.handler = handler;
    this.maxHeadBytes = maxHeadBytes;
    this.state = resyncFirst ? S_RESYNC : S_HEAD;
  }

  get reading(): boolean {
    return this.inMessage;
  }

  get readsUntilClose(): boolean {
    return this.state === S_BODY_EOF;
  }

  parse(chunk: Buffer, tsMs: number): void {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      switch (this.state) {
        case S_HEAD:
          off = this.readHead(chunk, off, tsMs);
          break;
        case S_BODY_LENGTH: {
          const n = Math.min(this.remaining, len - off);
          this.body(chunk.subarray(off, off + n), tsMs);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.end(tsMs);
          break;
        }
        case S_CHUNK_SIZE:
          off = this.readChunkSize(chunk, off, tsMs);
          break;
        case S_CHUNK_DATA: {
          const n = Math.min(this.remaining, len - off);
          this.body(chunk.subarray(off, off + n), tsMs);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = S_CHUNK_DATA_END;
            this.remaining = 2;
          }
          break;
        }
        case S_CHUNK_DATA_END: {
          // The CRLF after chunk data; tolerate a bare LF.
          const b = chunk[off]!;
          if (b === LF || (b === CR && this.remaining === 2)) {
            off++;
            this.msgBytes++;
            this.remaining--;
            if (b === LF || this.remaining === 0) {
              this.remaining = 0;
              this.state = S_CHUNK_SIZE;
            }
          } else {
            off = this.fail(E_BAD_CHUNK, off, tsMs);
          }
          break;
        }
        case S_TRAILERS:
          off = this.readTrailers(chunk, off, tsMs);
          break;
        case S_BODY_EOF:
          this.body(chunk.subarray(off), tsMs);
          off = len;
          break;
        case S_RESYNC:
          off = this.resync(chunk, off);
          break;
        case S_HOLD:
          this.hold(chunk.subarray(off));
          off = len;
          break;
        default:
          // S_SWITCHED: the session no longer feeds this decoder.
          return;
      }
    }
  }

  /**
   * `bytes` of this direction were lost. Inside a body of known length the framing
   * survives: only the message is incomplete. Anywhere else the message in flight is
   * aborted and the decoder waits for the next message start.
   */
  gap(bytes: number, tsMs: number): void {
    if (this.state === S_BODY_LENGTH && bytes < this.remaining) {
      this.remaining -= bytes;
      this.msgBytes += bytes;
      this.handler.onAbort(tsMs, -1, 'gap');
      return;
    }
    if (this.state === S_BODY_LENGTH && bytes === this.remaining) {
      this.msgBytes += bytes;
      this.handler.onAbort(tsMs, -1, 'gap');
      this.end(tsMs);
      return;
    }
    if (this.state === S_BODY_EOF) {
      this.msgBytes += bytes;
      this.handler.onAbort(tsMs, -1, 'gap');
      return;
    }
    if (this.state === S_SWITCHED) return;
    this.abort(tsMs, 'gap');
    this.state = S_RESYNC;
  }

  /** The connection ended: a read-until-close body ends here, anything else is cut short. */
  close(tsMs: number): void {
    if (this.state === S_BODY_EOF) {
      this.end(tsMs);
      return;
    }
    if (this.inMessage) this.abort(tsMs, 'closed');
  }

  /** Releases bytes held after an upgrade request: parse them as HTTP again. */
  release(tsMs: number): void {
    if (this.state !== S_HOLD) return;
    this.state = S_HEAD;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const b of held) this.parse(b, tsMs);
  }

  /** Hands bytes held after an upgrade request to the next protocol. */
  switchHeld(tsMs: number): void {
    this.state = S_SWITCHED;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    if (held.length > 0) this.handler.onSwitch(Buffer.concat(held), tsMs);
  }

  private hold(bytes: Buffer): void {
    if (this.heldBytes + bytes.length > MAX_HELD_BYTES) {
      this.handler.onError(E_HELD_OVERFLOW);
      this.held = [];
      this.heldBytes = 0;
      this.state = S_RESYNC;
      return;
    }
    this.held.push(Buffer.from(bytes));
    this.heldBytes += bytes.length;
  }

  private body(view: Buffer, tsMs: number): void {
    this.msgBytes += view.length;
    if (view.length > 0) this.handler.onBody(view, tsMs);
  }

  private end(tsMs: number): void {
    const bytes = this.msgBytes;
    this.inMessage = false;
    this.msgBytes = 0;
    this.state = S_HEAD;
    this.handler.onEnd(tsMs, bytes);
  }

  private abort(tsMs: number, code: string): void {
    if (this.inMessage) this.handler.onAbort(tsMs, this.msgBytes, code);
    this.inMessage = false;
    this.msgBytes = 0;
    this.pending = undefined;
  }

  /** A malformed message: report, abort it, and look for the next message start. */
  private fail(code: string, off: number, tsMs: number): number {
    this.handler.onError(code);
    this.abort(tsMs, code);
    this.state = S_RESYNC;
    return off;
  }

  private resync(chunk: Buffer, off: number): number {
    // Scan this chunk only; a message start split across chunks is found at the next one.
    const text = chunk.toString('latin1', off);
    const m = (this.kind === KIND_REQUEST ? REQUEST_START : RESPONSE_START).exec(text);
    if (!m) return chunk.length;
    this.state = S_HEAD;
    this.pending = undefined;
    return off + m.index;
  }

  private readHead(chunk: Buffer, off: number, tsMs: number): number {
    let buf: Buffer;
    let base: number;
    let searchFrom: number;
    if (this.pending === undefined) {
      // Empty lines before a message are allowed (RFC 9112 §2.2).
      while (off < chunk.length && (chunk[off] === CR || chunk[off] === LF)) off++;
      if (off >= chunk.length) return off;
      buf = chunk;
      base = off;
      searchFrom = off;
    } else {
      // The head spans chunks: copy only as much of this one as a head may still need.
      const prev = this.pending.length;
      const take = Math.min(chunk.length - off, this.maxHeadBytes + 4 - prev);
      buf = Buffer.concat([this.pending, chunk.subarray(off, off + take)], prev + take);
      base = 0;
      searchFrom = Math.max(0, prev - 3);
    }
    // A head longer than the limit fails whether or not its end is further on.
    const at = findHeadEnd(buf, searchFrom, Math.min(buf.length, base + this.maxHeadBytes + 4));
    const consumedBefore = this.pending === undefined ? 0 : this.pending.length;
    if (at < 0) {
      const have = consumedBefore + chunk.length - (this.pending === undefined ? base : off);
      if (have > this.maxHeadBytes) {
        this.pending = undefined;
        return this.fail(E_HEAD_TOO_LARGE, chunk.length, tsMs);
      }
      if (!this.inMessage) {
        this.inMessage = true;
        this.msgBytes = 0;
        this.headTs = tsMs;
      }
      this.pending = Buffer.from(buf.subarray(base));
      return chunk.length;
    }
    const headLen = at + 4 - base;
    if (headLen > this.maxHeadBytes) {
      this.pending = undefined;
      return this.fail(E_HEAD_TOO_LARGE, chunk.length, tsMs);
    }
    const startTs = this.inMessage ? this.headTs : tsMs;
    this.inMessage = true;
    this.pending = undefined;
    const next = off + (headLen - consumedBefore);
    const head = this.decodeHead(buf, base, at);
    if (typeof head === 'string') return this.fail(head, next, tsMs);
    head.headBytes = headLen;
    this.msgBytes = headLen;
    const decision = this.handler.onHead(head, startTs);
    this.frameBody(head, decision, chunk, next, tsMs);
    return this.state === S_SWITCHED ? chunk.length : next;
  }

  private headTs = 0;

  private frameBody(head: MessageHead, decision: number, chunk: Buffer, next: number, tsMs: number): void {
    if (decision === BODY_SWITCH) {
      this.end(tsMs);
      this.state = S_SWITCHED;
      this.handler.onSwitch(chunk.subarray(next), tsMs);
      return;
    }
    if (decision === BODY_NONE || decision === BODY_HOLD) {
      this.end(tsMs);
      if (decision === BODY_HOLD) this.state = S_HOLD;
      return;
    }
    const te = head.headers['transfer-encoding'];
    if (te !== undefined && (te === 'chunked' || CHUNKED_LAST.test(te))) {
      this.state = S_CHUNK_SIZE;
      return;
    }
    const cl = head.headers['content-length'];
    if (cl !== undefined) {
      const n = contentLength(cl);
      if (n < 0) {
        this.fail(E_BAD_LENGTH, next, tsMs);
        return;
      }
      if (n === 0) {
        this.end(tsMs);
        return;
      }
      this.remaining = n;
      this.state = S_BODY_LENGTH;
      return;
    }
    if (this.kind === KIND_RESPONSE) {
      this.state = S_BODY_EOF;
      return;
    }
    this.end(tsMs);
  }

  private readChunkSize(chunk: Buffer, off: number, tsMs: number): number {
    const lf = chunk.indexOf(LF, off);
    if (lf < 0) {
      const part = chunk.subarray(off);
      this.pending = this.pending === undefined ? Buffer.from(part) : Buffer.concat([this.pending, part]);
      this.msgBytes += part.length;
      if (this.pending.length > MAX_CHUNK_LINE) {
        this.pending = undefined;
        return this.fail(E_BAD_CHUNK, chunk.length, tsMs);
      }
      return chunk.length;
    }
    let size = this.pending === undefined ? hexSize(chunk, off, lf) : -1;
    if (size < 0) {
      const line =
        this.pending === undefined
          ? chunk.subarray(off, lf)
          : Buffer.concat([this.pending, chunk.subarray(off, lf)]);
      size = chunkSizeLine(line);
    }
    this.pending = undefined;
    this.msgBytes += lf + 1 - off;
    if (size < 0) return this.fail(E_BAD_CHUNK, lf + 1, tsMs);
    if (size === 0) {
      this.state = S_TRAILERS;
      this.remaining = 0;
      return lf + 1;
    }
    this.remaining = size;
    this.state = S_CHUNK_DATA;
    return lf + 1;
  }

  /** Trailer section after the last chunk: lines until an empty one (bounded like a head). */
  private readTrailers(chunk: Buffer, off: number, tsMs: number): number {
    while (off < chunk.length) {
      const lf = chunk.indexOf(LF, off);
      const part = chunk.subarray(off, lf < 0 ? chunk.length : lf);
      if (lf < 0) {
        this.pending = this.pending === undefined ? Buffer.from(part) : Buffer.concat([this.pending, part]);
        this.msgBytes += part.length;
        if (this.pending.length > this.maxHeadBytes) {
          this.pending = undefined;
          return this.fail(E_HEAD_TOO_LARGE, chunk.length, tsMs);
        }
        return chunk.length;
      }
      const lineLen = (this.pending?.length ?? 0) + part.length;
      const lastIsCr =
        part.length > 0 ? part[part.length - 1] === CR : this.pending?.[this.pending.length - 1] === CR;
      this.pending = undefined;
      this.msgBytes += part.length + 1;
      off = lf + 1;
      if (lineLen === 0 || (lineLen === 1 && lastIsCr)) {
        this.end(tsMs);
        return off;
      }
    }
    return off;
  }

  /**
   * Decodes a framed head (buf[base..at) plus CRLFCRLF) or returns an error code. Works on
   * the bytes: lines are found in place, common header names and methods come out as
   * constants, and only values (and unusual names) are turned into strings.
   */
  private decodeHead(buf: Buffer, base: number, at: number): MessageHead | string {
    let lineEnd = lineEndIn(buf, base, at);
    // A null-prototype map: header names are attacker-chosen (`__proto__`).
    const headers = Object.create(null) as Record<string, string>;
    const head: MessageHead = {
      method: '',
      target: '',
      statusCode: 0,
      reason: '',
      minor: 1,
      headers,
      headBytes: 0,
    };
    if (this.kind === KIND_REQUEST) {
      const error = decodeRequestLine(buf, base, lineEnd, head);
      if (error !== undefined) return error;
    } else {
      const error = decodeStatusLine(buf, base, lineEnd, head);
      if (error !== undefined) return error;
    }
    let count = 0;
    while (lineEnd < at) {
      const from = lineEnd + 2;
      lineEnd = lineEndIn(buf, from, at);
      if (++count > MAX_HEADERS) return E_BAD_HEADER;
      let colon = -1;
      let space = false;
      for (let i = from; i < lineEnd; i++) {
        const b = buf[i]!;
        if (b === COLON) {
          colon = i;
          break;
        }
        if (b === SP) space = true;
      }
      if (colon <= from) {
        // obs-fold continuation lines (leading SP/HTAB) are dropped.
        const first = buf[from];
        if (lineEnd > from && (first === SP || first === HTAB)) continue;
        return E_BAD_HEADER;
      }
      if (space) return E_BAD_HEADER;
      const name = headerName(buf, from, colon);
      let vs = colon + 1;
      let ve = lineEnd;
      while (vs < ve && isTrimmed(buf[vs]!)) vs++;
      while (ve > vs && isTrimmed(buf[ve - 1]!)) ve--;
      const value = vs === ve ? '' : buf.toString('latin1', vs, ve);
      const prev = headers[name];
      headers[name] = prev === undefined ? value : `${prev}${name === 'set-cookie' ? '\n' : ', '}${value}`;
    }
    return head;
  }
}

const CHUNKED_LAST = /(?:^|,)\s*chunked\s*$/i;

/** The usual chunk-size line, bare hex digits before (CR)LF: its value, else -1 (take the long way). */
function hexSize(buf: Buffer, from: number, lf: number): number {
  const end = lf > from && buf[lf - 1] === CR ? lf - 1 : lf;
  if (end === from || end - from > 12) return -1;
  let n = 0;
  for (let i = from; i < end; i++) {
    const b = buf[i]!;
    let d: number;
    if (b >= 0x30 && b <= 0x39) d = b - 0x30;
    else if (b >= 0x61 && b <= 0x66) d = b - 0x57;
    else if (b >= 0x41 && b <= 0x46) d = b - 0x37;
    else return -1;
    n = n * 16 + d;
  }
  return n;
}

/** Any chunk-size line (extensions, whitespace, a line split over chunks): its size, or -1. */
function chunkSizeLine(lineBuf: Buffer): number {
  if (lineBuf.length > MAX_CHUNK_LINE) return -1;
  let line = lineBuf.toString('latin1');
  const semi = line.indexOf(';');
  if (semi >= 0) line = line.slice(0, semi);
  line = line.trim();
  return /^[0-9a-fA-F]{1,12}$/.test(line) ? Number.parseInt(line, 16) : -1;
}

/** A Content-Length value, or -1 when malformed. */
export function contentLength(cl: string): number {
  // The usual case: digits only.
  if (cl.length > 0 && cl.length <= 15) {
    let n = 0;
    let i = 0;
    for (; i < cl.length; i++) {
      const c = cl.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) break;
      n = n * 10 + c;
    }
    if (i === cl.length) return n;
  }
  // Repeated identical values ("10, 10") are allowed; anything else is malformed.
  const first = cl.split(',')[0]!.trim();
  if (!/^\d{1,15}$/.test(first) || cl.split(',').some((v) => v.trim() !== first)) return -1;
  return Number(first);
}

/** Index of the CRLFCRLF ending a head in buf[from, end), or -1. */
function findHeadEnd(buf: Buffer, from: number, end: number): number {
  for (let i = from + 3; i < end; i++) {
    // Test for the final LF first: it is rarer than the bytes around it.
    if (buf[i] === LF && buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i - 3;
  }
  return -1;
}

const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** End of the line starting at `from` (its CRLF), or `end` for the head's last line. */
function lineEndIn(buf: Buffer, from: number, end: number): number {
  for (let i = from; i + 1 < end; i++) {
    if (buf[i] === CR && buf[i + 1] === LF) return i;
  }
  return end;
}

/** What String.prototype.trim removes, among latin1 characters. */
function isTrimmed(b: number): boolean {
  return b === SP || (b >= 0x09 && b <= 0x0d) || b === 0xa0;
}

/** True when buf[from..end) spells `lower` ignoring ASCII case. */
function equalsIgnoreCase(buf: Buffer, from: number, end: number, lower: string): boolean {
  if (end - from !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let b = buf[from + i]!;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (b !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Header names seen on nearly every message: matched in place instead of lower-cased copies. */
const COMMON_HEADERS: readonly string[] = [
  'host',
  'accept',
  'accept-encoding',
  'accept-language',
  'authorization',
  'cache-control',
  'connection',
  'content-encoding',
  'content-length',
  'content-type',
  'cookie',
  'date',
  'etag',
  'keep-alive',
  'location',
  'server',
  'set-cookie',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'x-api-key',
  'x-request-id',
  'anthropic-version',
  'openai-organization',
  'openai-processing-ms',
  'request-id',
  'sec-websocket-key',
  'sec-websocket-accept',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
];
/** COMMON_HEADERS by length, for a quick candidate list. */
const HEADERS_BY_LENGTH: readonly (readonly string[])[] = (() => {
  const out: string[][] = [];
  for (const h of COMMON_HEADERS) {
    const list = out[h.length] ?? [];
    list.push(h);
    out[h.length] = list;
  }
  return out;
})();

function headerName(buf: Buffer, from: number, end: number): string {
  const candidates = HEADERS_BY_LENGTH[end - from];
  if (candidates !== undefined) {
    for (const c of candidates) if (equalsIgnoreCase(buf, from, end, c)) return c;
  }
  return buf.toString('latin1', from, end).toLowerCase();
}

const COMMON_METHODS: readonly string[] = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'CONNECT',
  'TRACE',
];

function methodName(buf: Buffer, from: number, end: number): string {
  for (const m of COMMON_METHODS) {
    if (m.length !== end - from) continue;
    let i = 0;
    while (i < m.length && buf[from + i] === m.charCodeAt(i)) i++;
    if (i === m.length) return m;
  }
  return buf.toString('latin1', from, end);
}

/** `HTTP/1.x` at buf[from..end): the minor version, or -1. */
function httpVersion(buf: Buffer, from: number, end: number): number {
  if (end - from !== 8) return -1;
  for (let i = 0; i < 7; i++) if (buf[from + i] !== HTTP_1_PREFIX[i]) return -1;
  const minor = buf[from + 7]! - 0x30;
  return minor === 0 || minor === 1 ? minor : -1;
}

const HTTP_1_PREFIX = Buffer.from('HTTP/1.', 'latin1');

/** `METHOD SP target SP HTTP/1.x` (first and last space; the target may hold spaces). */
function decodeRequestLine(buf: Buffer, from: number, end: number, head: MessageHead): string | undefined {
  let sp1 = -1;
  let sp2 = -1;
  for (let i = from; i < end; i++) {
    if (buf[i] === SP) {
      if (sp1 < 0) sp1 = i;
      sp2 = i;
    }
  }
  if (sp1 <= from || sp2 <= sp1) return E_BAD_START_LINE;
  const minor = httpVersion(buf, sp2 + 1, end);
  if (minor < 0) return E_BAD_START_LINE;
  const method = methodName(buf, from, sp1);
  if (!METHOD_RE.test(method)) return E_BAD_START_LINE;
  head.method = method;
  head.target = buf.toString('latin1', sp1 + 1, sp2);
  head.minor = minor;
  return undefined;
}

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39;

/** `HTTP/1.x SP [1-9]dd [SP reason]`. */
function decodeStatusLine(buf: Buffer, from: number, end: number, head: MessageHead): string | undefined {
  const len = end - from;
  if (len < 12 || httpVersion(buf, from, from + 8) < 0 || buf[from + 8] !== SP) return E_BAD_START_LINE;
  const d0 = buf[from + 9]!;
  const d1 = buf[from + 10]!;
  const d2 = buf[from + 11]!;
  if (d0 < 0x31 || d0 > 0x39 || !isDigit(d1) || !isDigit(d2)) return E_BAD_START_LINE;
  if (len > 12 && buf[from + 12] !== SP) return E_BAD_START_LINE;
  head.minor = buf[from + 7]! - 0x30;
  head.statusCode = (d0 - 0x30) * 100 + (d1 - 0x30) * 10 + (d2 - 0x30);
  head.reason = len > 13 ? buf.toString('latin1', from + 13, end) : '';
  return undefined;
}
