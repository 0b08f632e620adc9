/**
 * One HTTP/2 connection (h2c with prior knowledge, after an h2c Upgrade, or decrypted h2):
 * a framer and an HPACK decoder per direction, header blocks reassembled across
 * CONTINUATION, and one Transaction per stream when its response ends (or it is reset,
 * refused by GOAWAY, or cut off). Streams whose content-type is application/grpc are
 * reported as gRPC, with message counts and the grpc-status from trailers.
 */
import { brotliDecompressSync, gunzipSync, inflateSync, constants as zc } from 'node:zlib';
import type { GrpcInfo, HttpInfo } from '../../signal/types.ts';
import {
  decodeGrpcMessage,
  GRPC_UNKNOWN,
  GrpcMessageCounter,
  grpcStatusFromHttp,
  grpcStatusFromReset,
  isGrpcContentType,
  parseGrpcPath,
} from '../grpc/index.ts';
import type { Payload, ProtocolSession, SessionContext, Side, Transaction } from '../types.ts';
import * as F from './frames.ts';
import { type HeaderList, HpackDecoder, HpackError } from './hpack.ts';

/** The request that an HTTP/1.1 `Upgrade: h2c` carried; it becomes stream 1. */
export interface UpgradedRequest {
  method: string;
  path: string;
  host?: string;
  headers: Record<string, string>;
  startMs: number;
  requestBytes: number;
  /** Bytes of the `101 Switching Protocols` head, counted with stream 1's response. */
  responseBytes?: number;
  /** The HTTP/1.1 request's payload (an upgrade request may carry a body). */
  request?: Payload;
  /** False when the HTTP/1.1 side lost part of the exchange. */
  complete?: boolean;
}

export interface Http2Options {
  /** Set when the session starts after a 101 Switching Protocols (h2c upgrade). */
  upgradedRequest?: UpgradedRequest;
}

/** Concurrent streams tracked per connection; more are counted and ignored. */
const MAX_STREAMS = 1000;

class Body {
  readonly parts: Buffer[] = [];
  kept = 0;
  total = 0;
  truncated = false;
  firstByteMs = -1;

  add(piece: Buffer, limit: number, tsMs: number): void {
    if (piece.length === 0) return;
    if (this.firstByteMs < 0) this.firstByteMs = tsMs;
    this.total += piece.length;
    const room = limit - this.kept;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    // Copy: the chunk's memory belongs to the capture layer.
    const take = piece.length <= room ? piece : piece.subarray(0, room);
    this.parts.push(Buffer.from(take));
    this.kept += take.length;
    if (take.length < piece.length) this.truncated = true;
  }
}

interface Stream {
  id: number;
  startMs: number;
  endMs: number;
  request: HeaderList | undefined;
  response: HeaderList | undefined;
  requestTrailers: HeaderList | undefined;
  responseTrailers: HeaderList | undefined;
  /** Header blocks we could not decode (HPACK state from before we joined). */
  unknownHeaders: boolean;
  /** We never saw the request's start (joined midway, or stream 1 of an upgrade). */
  requestMissing: boolean;
  requestBytes: number;
  responseBytes: number;
  requestEnded: boolean;
  responseEnded: boolean;
  requestBody: Body;
  responseBody: Body;
  grpc: boolean;
  requestMessages: GrpcMessageCounter | undefined;
  responseMessages: GrpcMessageCounter | undefined;
  resetCode: number;
  lostBytes: boolean;
  upgraded: UpgradedRequest | undefined;
}

/** Header block being reassembled on one direction (CONTINUATION must follow at once). */
interface BlockState {
  stream: number;
  type: number;
  endStream: boolean;
  promised: number;
  parts: Buffer[];
  bytes: number;
  /** Frame bytes on the wire (headers, padding included) for the byte counts. */
  wire: number;
}

function headerValue(list: HeaderList | undefined, name: string): string | undefined {
  if (list === undefined) return undefined;
  for (const [k, v] of list) if (k === name) return v;
  return undefined;
}

/** Regular headers as a record (pseudo-headers left out, repeats joined). */
function headerRecord(list: HeaderList | undefined, extra?: HeaderList): Record<string, string> | undefined {
  if (list === undefined && extra === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const l of [list, extra]) {
    if (l === undefined) continue;
    for (const [k, v] of l) {
      if (k.charCodeAt(0) === 0x3a) continue;
      const prev = out[k];
      out[k] = prev === undefined ? v : `${prev}${k === 'cookie' ? '; ' : ', '}${v}`;
    }
  }
  return out;
}

function decodeBody(
  body: Body,
  encoding: string | undefined,
  limit: number,
): { body?: Buffer; failed: boolean } {
  if (body.kept === 0) return { failed: false };
  const raw = body.parts.length === 1 ? body.parts[0]! : Buffer.concat(body.parts);
  if (encoding === undefined || encoding === 'identity') return { body: raw, failed: false };
  // Partial input is allowed (SYNC_FLUSH): a truncated body still yields its beginning.
  const opts = { maxOutputLength: Math.max(limit, 1), finishFlush: zc.Z_SYNC_FLUSH };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return { body: gunzipSync(raw, opts), failed: false };
    if (encoding === 'deflate') return { body: inflateSync(raw, opts), failed: false };
    if (encoding === 'br') {
      return {
        body: brotliDecompressSync(raw, {
          maxOutputLength: Math.max(limit, 1),
          finishFlush: zc.BROTLI_OPERATION_FLUSH,
        }),
        failed: false,
      };
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return { failed: true };
    return { failed: true };
  }
  return { failed: true };
}

/**
 * An h2c Upgrade handed over by the HTTP/1.1 session: its request is stream 1's. When the
 * handoff carries the exchange, the HTTP/1.1 session did not emit it, so stream 1 takes over
 * its bytes (request, and the 101 head), its request body and its completeness.
 */
function fromHandoff(ctx: SessionContext): UpgradedRequest | undefined {
  const http = ctx.handoff?.http;
  if (ctx.handoff === undefined || http?.method === undefined || http.path === undefined) return undefined;
  const exchange = ctx.handoff.exchange;
  const u: UpgradedRequest = {
    method: http.method,
    path: http.path,
    headers: http.requestHeaders ?? {},
    startMs: ctx.handoff.startMs,
    // Without the exchange, the HTTP/1.1 session emitted (and counted) the request itself.
    requestBytes: exchange?.requestBytes ?? 0,
  };
  if (http.host !== undefined) u.host = http.host;
  if (exchange !== undefined) {
    u.responseBytes = exchange.responseBytes;
    u.complete = exchange.complete;
    if (exchange.request !== undefined) u.request = exchange.request;
    // Stream 1 holds it now; the context lives as long as the connection.
    delete ctx.handoff.exchange;
  }
  return u;
}

export class Http2Session implements ProtocolSession {
  private readonly ctx: SessionContext;
  private readonly framers: Record<Side, F.Http2Framer>;
  /** The decoder for header blocks each side sends. */
  private readonly hpack: Record<Side, HpackDecoder>;
  private readonly blocks: Record<Side, BlockState | undefined> = { client: undefined, server: undefined };
  private readonly streams = new Map<number, Stream>();
  private readonly sinks: Record<Side, F.FrameSink>;
  private nowMs = 0;
  /** Highest stream id the server's GOAWAY said it processed. */
  goAwayLastStream = -1;

  constructor(ctx: SessionContext, options: Http2Options = {}) {
    this.ctx = ctx;
    const upgraded = options.upgradedRequest ?? fromHandoff(ctx);
    const midstream = ctx.conn.midstream;
    const maxPayload = Math.max(ctx.limits.maxMessageBytes, F.DEFAULT_MAX_FRAME_SIZE);
    const framer = (side: Side): F.Http2Framer =>
      new F.Http2Framer(
        {
          maxPayload,
          onDropped: (reason, bytes) => ctx.counters.dropped('http2', reason, bytes),
          onError: (reason) => this.onFramingError(side, reason),
        },
        side === 'client' && !midstream,
      );
    this.framers = { client: framer('client'), server: framer('server') };
    const maxListBytes = ctx.limits.maxMessageBytes;
    this.hpack = {
      client: new HpackDecoder({ joinedMidway: midstream, maxListBytes }),
      server: new HpackDecoder({ joinedMidway: midstream, maxListBytes }),
    };
    if (midstream) {
      this.framers.client.lose();
      this.framers.server.lose();
    }
    this.sinks = { client: this.sinkFor('client'), server: this.sinkFor('server') };
    if (upgraded !== undefined) this.openUpgradedStream(upgraded);
  }

  onData(side: Side, chunk: Buffer, tsMs: number): void {
    this.nowMs = tsMs;
    this.framers[side].push(chunk, this.sinks[side]);
  }

  onGap(side: Side, _bytes: number, tsMs: number): void {
    this.nowMs = tsMs;
    // Lost bytes may have held frames of any stream and header blocks the decoder needed.
    for (const s of this.streams.values()) s.lostBytes = true;
    this.blocks[side] = undefined;
    this.hpack[side].lose();
    this.framers[side].lose();
  }

  onClose(tsMs: number): void {
    this.nowMs = tsMs;
    for (const s of [...this.streams.values()]) this.finish(s);
  }

  private onFramingError(side: Side, reason: string): void {
    this.ctx.counters.parseError('http2', reason);
    this.ctx.log.debug({ conn: this.ctx.conn.id, side, reason }, 'http2: framing error, resynchronizing');
    for (const s of this.streams.values()) s.lostBytes = true;
    this.blocks[side] = undefined;
    this.hpack[side].lose();
  }

  private openUpgradedStream(u: UpgradedRequest): void {
    const s = this.newStream(1, u.startMs);
    if (s === undefined) return;
    s.upgraded = u;
    s.requestEnded = true;
    s.requestBytes = u.requestBytes;
    s.responseBytes = u.responseBytes ?? 0;
    // The HTTP/1.1 side of the exchange was cut short (a gap, a truncated body).
    if (u.complete === false) s.lostBytes = true;
  }

  private newStream(id: number, startMs: number): Stream | undefined {
    if (this.streams.size >= MAX_STREAMS) {
      this.ctx.counters.dropped('http2', 'too-many-streams', 0);
      return undefined;
    }
    const s: Stream = {
      id,
      startMs,
      endMs: startMs,
      request: undefined,
      response: undefined,
      requestTrailers: undefined,
      responseTrailers: undefined,
      unknownHeaders: false,
      requestMissing: false,
      requestBytes: 0,
      responseBytes: 0,
      requestEnded: false,
      responseEnded: false,
      requestBody: new Body(),
      responseBody: new Body(),
      grpc: false,
      requestMessages: undefined,
      responseMessages: undefined,
      resetCode: -1,
      lostBytes: false,
      upgraded: undefined,
    };
    this.streams.set(id, s);
    return s;
  }

  private sinkFor(side: Side): F.FrameSink {
    return {
      frame: (type, flags, stream, payload, length) =>
        this.onFrame(side, type, flags, stream, payload, length),
      data: (stream, piece, frameBytes, last, flags) =>
        this.onDataPiece(side, stream, piece, frameBytes, last, flags),
    };
  }

  private onDataPiece(
    side: Side,
    id: number,
    piece: Buffer,
    frameBytes: number,
    last: boolean,
    flags: number,
  ): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    const limit = this.ctx.limits.maxBodyBytes;
    if (side === 'client') {
      s.requestBytes += frameBytes;
      s.requestBody.add(piece, limit, this.nowMs);
      s.requestMessages?.push(piece);
      if (last && (flags & F.F_END_STREAM) !== 0) s.requestEnded = true;
    } else {
      s.responseBytes += frameBytes;
      s.endMs = this.nowMs;
      s.responseBody.add(piece, limit, this.nowMs);
      s.responseMessages?.push(piece);
      if (last && (flags & F.F_END_STREAM) !== 0) {
        s.responseEnded = true;
        this.finish(s);
      }
    }
  }

  private onFrame(
    side: Side,
    type: number,
    flags: number,
    stream: number,
    payload: Buffer | undefined,
    length: number,
  ): void {
    const block = this.blocks[side];
    if (block !== undefined && type !== F.T_CONTINUATION) {
      // A header block must be followed by its CONTINUATIONs and nothing else.
      this.blocks[side] = undefined;
      this.headerBlockLost(side, block.stream);
    }
    switch (type) {
      case F.T_HEADERS:
        this.onHeadersFrame(side, flags, stream, payload, length);
        return;
      case F.T_CONTINUATION:
        this.onContinuation(side, flags, stream, payload, length);
        return;
      case F.T_PUSH_PROMISE:
        if (side === 'server') this.onPushPromise(flags, stream, payload, length);
        return;
      case F.T_RST_STREAM: {
        const s = this.streams.get(stream);
        if (s === undefined || payload === undefined || payload.length < 4) return;
        s.resetCode = payload.readUInt32BE(0);
        s.endMs = this.nowMs;
        this.finish(s);
        return;
      }
      case F.T_SETTINGS:
        if ((flags & F.F_ACK) === 0 && payload !== undefined && stream === 0) this.onSettings(side, payload);
        return;
      case F.T_GOAWAY:
        if (payload !== undefined && payload.length >= 8)
          this.onGoAway(side, payload.readUInt32BE(0) & 0x7fffffff);
        return;
      default:
        // PRIORITY, PING, WINDOW_UPDATE and unknown types change nothing we report.
        return;
    }
  }

  /** Strips padding and priority from a HEADERS/PUSH_PROMISE payload; undefined if malformed. */
  private fragment(payload: Buffer, flags: number, extra: number): Buffer | undefined {
    let start = 0;
    let end = payload.length;
    if ((flags & F.F_PADDED) !== 0) {
      if (payload.length < 1) return undefined;
      const pad = payload[0]!;
      start = 1;
      end -= pad;
    }
    start += extra;
    if (start > end) return undefined;
    return payload.subarray(start, end);
  }

  private onHeadersFrame(
    side: Side,
    flags: number,
    stream: number,
    payload: Buffer | undefined,
    length: number,
  ): void {
    const frag =
      payload === undefined ? undefined : this.fragment(payload, flags, (flags & F.F_PRIORITY) !== 0 ? 5 : 0);
    if (frag === undefined) {
      this.countWire(side, stream, length + F.FRAME_HEADER);
      this.ctx.counters.parseError('http2', payload === undefined ? 'header-block-too-large' : 'bad-padding');
      this.hpack[side].lose();
      this.headerBlockLost(side, stream, (flags & F.F_END_STREAM) !== 0);
      return;
    }
    const state: BlockState = {
      stream,
      type: F.T_HEADERS,
      endStream: (flags & F.F_END_STREAM) !== 0,
      promised: 0,
      parts: [frag],
      bytes: frag.length,
      wire: length + F.FRAME_HEADER,
    };
    if ((flags & F.F_END_HEADERS) !== 0) this.decodeBlock(side, state);
    else this.blocks[side] = { ...state, parts: [Buffer.from(frag)] };
  }

  private onContinuation(
    side: Side,
    flags: number,
    stream: number,
    payload: Buffer | undefined,
    length: number,
  ): void {
    const block = this.blocks[side];
    if (block === undefined || block.stream !== stream) {
      this.countWire(side, stream, length + F.FRAME_HEADER);
      return;
    }
    block.wire += length + F.FRAME_HEADER;
    if (payload === undefined || block.bytes + payload.length > this.ctx.limits.maxMessageBytes) {
      this.blocks[side] = undefined;
      this.countWire(side, block.type === F.T_PUSH_PROMISE ? block.stream : stream, block.wire);
      this.ctx.counters.dropped('http2', 'header-block-too-large', block.bytes + length);
      this.hpack[side].lose();
      this.headerBlockLost(side, stream, block.endStream);
      return;
    }
    block.parts.push(Buffer.from(payload));
    block.bytes += payload.length;
    if ((flags & F.F_END_HEADERS) !== 0) {
      this.blocks[side] = undefined;
      this.decodeBlock(side, block);
    }
  }

  private onPushPromise(flags: number, stream: number, payload: Buffer | undefined, length: number): void {
    this.countWire('server', stream, length + F.FRAME_HEADER);
    const frag = payload === undefined ? undefined : this.fragment(payload, flags, 4);
    if (frag === undefined || payload === undefined) {
      this.ctx.counters.parseError('http2', 'bad-push-promise');
      this.hpack.server.lose();
      return;
    }
    const promised = payload.readUInt32BE((flags & F.F_PADDED) !== 0 ? 1 : 0) & 0x7fffffff;
    const state: BlockState = {
      stream,
      type: F.T_PUSH_PROMISE,
      endStream: false,
      promised,
      parts: [frag],
      bytes: frag.length,
      wire: 0,
    };
    if ((flags & F.F_END_HEADERS) !== 0) this.decodeBlock('server', state);
    else this.blocks.server = { ...state, parts: [Buffer.from(frag)] };
  }

  /** Adds wire bytes (frame headers included) to a stream's count. */
  private countWire(side: Side, id: number, bytes: number): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    if (side === 'client') s.requestBytes += bytes;
    else s.responseBytes += bytes;
  }

  /** A header block we could not decode: its stream is marked, never guessed at. */
  private headerBlockLost(side: Side, id: number, endStream = false): void {
    const s = this.streams.get(id) ?? (side === 'client' ? this.newStream(id, this.nowMs) : undefined);
    if (s === undefined) return;
    s.unknownHeaders = true;
    if (endStream) this.endSide(side, s);
  }

  private decodeBlock(side: Side, block: BlockState): void {
    const buf = block.parts.length === 1 ? block.parts[0]! : Buffer.concat(block.parts);
    let headers: HeaderList = [];
    let unknown = false;
    try {
      const decoded = this.hpack[side].decode(buf);
      headers = decoded.headers;
      unknown = decoded.unknown;
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      this.ctx.counters.parseError('http2', 'hpack');
      this.ctx.log.debug(
        { conn: this.ctx.conn.id, side, err: err.message },
        'http2: HPACK error; header state lost',
      );
      this.hpack[side].lose();
      unknown = true;
    }
    if (block.type === F.T_PUSH_PROMISE) {
      const s = this.newStream(block.promised, this.nowMs);
      if (s === undefined) return;
      s.request = unknown ? undefined : headers;
      s.unknownHeaders = unknown;
      s.requestEnded = true;
      this.classify(s);
      return;
    }
    if (side === 'client') this.onRequestHeaders(block, headers, unknown);
    else this.onResponseHeaders(block, headers, unknown);
  }

  private onRequestHeaders(block: BlockState, headers: HeaderList, unknown: boolean): void {
    let s = this.streams.get(block.stream);
    if (s === undefined) {
      s = this.newStream(block.stream, this.nowMs);
      if (s === undefined) return;
    }
    s.requestBytes += block.wire;
    if (s.request === undefined && !s.unknownHeaders && s.requestBody.total === 0) {
      s.startMs = this.nowMs;
      if (unknown) s.unknownHeaders = true;
      else {
        s.request = headers;
        this.classify(s);
      }
    } else if (unknown) {
      s.unknownHeaders = true;
    } else {
      s.requestTrailers = headers;
    }
    if (block.endStream) s.requestEnded = true;
  }

  private onResponseHeaders(block: BlockState, headers: HeaderList, unknown: boolean): void {
    let s = this.streams.get(block.stream);
    if (s === undefined) {
      // A response to a request we never saw (joined midway): reported, marked incomplete.
      s = this.newStream(block.stream, this.nowMs);
      if (s === undefined) return;
      s.requestMissing = true;
      s.requestEnded = true;
    }
    s.responseBytes += block.wire;
    s.endMs = this.nowMs;
    if (unknown) {
      s.unknownHeaders = true;
    } else if (s.response === undefined) {
      const status = headerValue(headers, ':status');
      // 1xx (100-continue, 103) are informational: the real response follows.
      if (status !== undefined && status.length === 3 && status.charCodeAt(0) === 0x31) return;
      s.response = headers;
      if (!s.grpc) this.classify(s);
    } else {
      s.responseTrailers = headers;
    }
    if (block.endStream) this.endSide('server', s);
  }

  private endSide(side: Side, s: Stream): void {
    if (side === 'client') s.requestEnded = true;
    else {
      s.responseEnded = true;
      this.finish(s);
    }
  }

  private classify(s: Stream): void {
    const ct = headerValue(s.request, 'content-type') ?? headerValue(s.response, 'content-type');
    if (s.grpc || !isGrpcContentType(ct)) return;
    s.grpc = true;
    s.requestMessages = new GrpcMessageCounter();
    s.responseMessages = new GrpcMessageCounter();
  }

  private onSettings(side: Side, payload: Buffer): void {
    // What one side announces bounds what the other side sends it.
    const other: Side = side === 'client' ? 'server' : 'client';
    for (let i = 0; i + 6 <= payload.length; i += 6) {
      const id = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (id === F.SETTINGS_HEADER_TABLE_SIZE) this.hpack[other].settingsMax = value;
      else if (id === F.SETTINGS_MAX_FRAME_SIZE) this.framers[other].maxFrame = value;
    }
  }

  private onGoAway(side: Side, lastStream: number): void {
    if (side === 'server') this.goAwayLastStream = lastStream;
    // Streams the sender's peer opened above last-stream-id were never processed.
    const initiatorOdd = side === 'server';
    for (const s of [...this.streams.values()]) {
      if (s.id > lastStream && s.id % 2 === (initiatorOdd ? 1 : 0)) {
        s.resetCode = F.E_REFUSED_STREAM;
        this.finish(s);
      }
    }
  }

  private finish(s: Stream): void {
    if (!this.streams.delete(s.id)) return;
    this.ctx.emit(this.toTransaction(s));
  }

  private toTransaction(s: Stream): Transaction {
    const limit = this.ctx.limits.maxBodyBytes;
    const method = s.upgraded?.method ?? headerValue(s.request, ':method');
    const path = s.upgraded?.path ?? headerValue(s.request, ':path');
    const host = s.upgraded?.host ?? headerValue(s.request, ':authority');
    const statusText = headerValue(s.response, ':status');
    const statusCode = statusText === undefined ? undefined : Number(statusText);
    const cutShort = !s.responseEnded;
    const complete =
      !s.unknownHeaders &&
      !s.requestMissing &&
      !s.lostBytes &&
      !cutShort &&
      (s.request !== undefined || s.upgraded !== undefined);
    const tx: Transaction = {
      protocol: s.grpc ? 'grpc' : 'http2',
      startMs: s.startMs,
      endMs: Math.max(s.endMs, s.startMs),
      requestBytes: s.requestBytes,
      responseBytes: s.responseBytes,
      complete,
    };
    const requestHeaders = s.upgraded?.headers ?? headerRecord(s.request, s.requestTrailers);
    const responseHeaders = headerRecord(s.response, s.responseTrailers);
    if (s.grpc) {
      const grpc: GrpcInfo = {};
      if (path !== undefined) {
        tx.operation = path;
        const parts = parseGrpcPath(path);
        if (parts !== undefined) {
          grpc.service = parts.service;
          grpc.method = parts.method;
        }
      }
      // Trailers-Only responses put grpc-status in the only HEADERS frame.
      const trailers = s.responseTrailers ?? (s.responseEnded ? s.response : undefined);
      const rawStatus = headerValue(trailers, 'grpc-status');
      let code: number | undefined;
      if (rawStatus !== undefined && /^\d+$/.test(rawStatus)) code = Number(rawStatus);
      else if (s.resetCode >= 0) code = grpcStatusFromReset(s.resetCode);
      else if (statusCode !== undefined && statusCode !== 200) code = grpcStatusFromHttp(statusCode);
      else if (s.responseEnded && !s.unknownHeaders) code = GRPC_UNKNOWN;
      if (code !== undefined) {
        grpc.statusCode = code;
        tx.status = code;
      }
      const message = headerValue(trailers, 'grpc-message');
      if (message !== undefined && message !== '') grpc.statusMessage = decodeGrpcMessage(message);
      if (s.requestMessages !== undefined) grpc.requestMessages = s.requestMessages.messages;
      if (s.responseMessages !== undefined) grpc.responseMessages = s.responseMessages.messages;
      tx.grpc = grpc;
    } else {
      const http: HttpInfo = {};
      if (method !== undefined) http.method = method;
      // As in HTTP/1.1, the query stays out of the signal: it may carry keys (`?key=`).
      const q = path === undefined ? -1 : path.indexOf('?');
      if (path !== undefined) http.path = q < 0 ? path : path.slice(0, q);
      if (host !== undefined) http.host = host;
      if (statusCode !== undefined && Number.isFinite(statusCode)) {
        http.statusCode = statusCode;
        tx.status = statusCode;
      }
      if (requestHeaders !== undefined) http.requestHeaders = requestHeaders;
      if (responseHeaders !== undefined) http.responseHeaders = responseHeaders;
      if (method !== undefined && http.path !== undefined) tx.operation = `${method} ${http.path}`;
      tx.http = http;
    }
    // Stream 1 of an upgrade: the request (and its body) travelled as HTTP/1.1.
    tx.request = s.upgraded?.request ?? this.payload(s.requestBody, requestHeaders, s.grpc, limit);
    tx.response = this.payload(s.responseBody, responseHeaders, s.grpc, limit);
    return tx;
  }

  private payload(
    body: Body,
    headers: Record<string, string> | undefined,
    grpc: boolean,
    limit: number,
  ): Payload {
    const p: Payload = {};
    if (headers !== undefined) p.headers = headers;
    const contentType = headers?.['content-type'];
    if (contentType !== undefined) p.contentType = contentType;
    if (body.firstByteMs >= 0) p.firstByteMs = body.firstByteMs;
    // gRPC bodies are length-prefixed messages: content-encoding does not apply to them.
    const decoded = decodeBody(body, grpc ? undefined : headers?.['content-encoding'], limit);
    if (decoded.failed) this.ctx.counters.parseError('http2', 'content-decoding');
    if (decoded.body !== undefined) {
      p.body = decoded.body.length > limit ? decoded.body.subarray(0, limit) : decoded.body;
      if (body.truncated || decoded.body.length > limit) p.bodyTruncated = true;
    } else if (body.truncated) {
      p.bodyTruncated = true;
    }
    return p;
  }
}
