/**
 * One HTTP/1.1 connection: a request decoder and a response decoder, paired in order
 * (keep-alive and pipelining), turned into one Transaction per exchange. Upgrades hand
 * the connection to the next protocol with the bytes that followed the switch; an h2c
 * upgrade's exchange goes along unemitted, since HTTP/2 stream 1 reports that request.
 */
import type { HttpInfo, ProtocolName } from '../../signal/types.ts';
import type { Handoff, ProtocolSession, SessionContext, Side, Transaction } from '../types.ts';
import { BodyCollector } from './body.ts';
import {
  BODY_AUTO,
  BODY_HOLD,
  BODY_NONE,
  BODY_SWITCH,
  type DecoderHandler,
  Http1Decoder,
  KIND_REQUEST,
  KIND_RESPONSE,
  type MessageHead,
} from './parser.ts';

const PROTOCOL = 'http';
/** Requests waiting for their response; beyond it the oldest is given up as incomplete. */
const MAX_PIPELINED = 128;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_SSE_LINE = 1 << 20;

/** One request/response exchange being assembled; always the same shape. */
class Exchange {
  startMs: number;
  endMs: number;
  method: string | undefined;
  path: string | undefined;
  host: string | undefined;
  requestHeaders: Record<string, string> | undefined = undefined;
  requestBody: BodyCollector | undefined = undefined;
  requestBytes = 0;
  requestDone = false;
  statusCode = 0;
  responseHeaders: Record<string, string> | undefined = undefined;
  responseBody: BodyCollector | undefined = undefined;
  responseBytes = 0;
  complete = true;
  constructor(startMs: number) {
    this.startMs = startMs;
    this.endMs = startMs;
    this.method = undefined;
    this.path = undefined;
    this.host = undefined;
  }
}

/** Splits a request target into path (no query: it may carry secrets) and host. */
function targetParts(target: string): { path: string; host: string | undefined } {
  if (target.startsWith('/')) {
    const q = target.search(/[?#]/);
    return { path: q < 0 ? target : target.slice(0, q), host: undefined };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    try {
      const u = new URL(target);
      return { path: u.pathname, host: u.host };
    } catch {
      return { path: target, host: undefined };
    }
  }
  // authority-form (CONNECT) or asterisk-form (OPTIONS *)
  return { path: target, host: undefined };
}

function wantsUpgrade(head: MessageHead): boolean {
  const connection = head.headers.connection;
  return (
    head.headers.upgrade !== undefined &&
    connection !== undefined &&
    /(?:^|,)\s*upgrade\s*(?:,|$)/i.test(connection)
  );
}

function upgradeProtocol(upgrade: string | undefined): ProtocolName | undefined {
  if (upgrade === undefined) return undefined;
  const u = upgrade.toLowerCase();
  if (u.includes('websocket')) return 'websocket';
  if (u.includes('h2c')) return 'http2';
  return undefined;
}

export class Http1Session implements ProtocolSession {
  private readonly ctx: SessionContext;
  private readonly requests: Http1Decoder;
  private readonly responses: Http1Decoder;
  /** Exchanges in request order; the first one is waiting for (or reading) its response. */
  private readonly queue: Exchange[] = [];
  /** The exchange whose request is being read. */
  private reading: Exchange | undefined = undefined;
  /** The exchange whose response is being read. */
  private answering: Exchange | undefined = undefined;
  private informational = false;
  private switched = false;
  private clientCarry: Buffer | undefined = undefined;
  private switchTo: ProtocolName | undefined = undefined;
  private handoff: Handoff | undefined = undefined;

  constructor(ctx: SessionContext) {
    this.ctx = ctx;
    const midstream = ctx.conn.midstream;
    const requestHandler: DecoderHandler = {
      onHead: (head, ts) => this.onRequestHead(head, ts),
      onBody: (chunk, ts) => this.reading?.requestBody?.add(chunk, ts),
      onEnd: (_ts, bytes) => this.onRequestEnd(bytes, true),
      onAbort: (_ts, bytes) => this.onRequestEnd(bytes, false),
      onSwitch: (rest) => {
        this.clientCarry = rest;
      },
      onError: (code) => ctx.counters.parseError(PROTOCOL, code),
    };
    const responseHandler: DecoderHandler = {
      onHead: (head, ts) => this.onResponseHead(head, ts),
      onBody: (chunk, ts) => this.answering?.responseBody?.add(chunk, ts),
      onEnd: (ts, bytes) => this.onResponseEnd(ts, bytes, true),
      onAbort: (ts, bytes) => this.onResponseEnd(ts, bytes, false),
      onSwitch: (rest, ts) => this.onSwitch(rest, ts),
      onError: (code) => ctx.counters.parseError(PROTOCOL, code),
    };
    const maxHead = Math.min(MAX_HEAD_BYTES, ctx.limits.maxMessageBytes);
    this.requests = new Http1Decoder(KIND_REQUEST, requestHandler, maxHead, midstream);
    this.responses = new Http1Decoder(KIND_RESPONSE, responseHandler, maxHead, midstream);
  }

  onData(side: Side, chunk: Buffer, tsMs: number): void {
    if (this.switched) return;
    if (side === 'client') this.requests.parse(chunk, tsMs);
    else this.responses.parse(chunk, tsMs);
  }

  onGap(side: Side, bytes: number, tsMs: number): void {
    if (this.switched) return;
    if (side === 'client') this.requests.gap(bytes, tsMs);
    else this.responses.gap(bytes, tsMs);
  }

  onClose(tsMs: number): void {
    if (this.switched) return;
    this.requests.close(tsMs);
    this.responses.close(tsMs);
    // Requests that never got (all of) their response.
    while (this.queue.length > 0) {
      const ex = this.queue.shift()!;
      ex.complete = false;
      ex.endMs = Math.max(ex.endMs, tsMs);
      this.emit(ex);
    }
  }

  private onRequestHead(head: MessageHead, ts: number): number {
    const ex = new Exchange(ts);
    ex.method = head.method;
    const { path, host } = targetParts(head.target);
    ex.path = path;
    ex.host = head.headers.host ?? host;
    ex.requestHeaders = head.headers;
    ex.requestBody = new BodyCollector(head.headers, this.ctx.limits.maxBodyBytes, MAX_SSE_LINE);
    if (this.queue.length >= MAX_PIPELINED) {
      const dropped = this.queue.shift()!;
      dropped.complete = false;
      if (this.answering === dropped) this.answering = undefined;
      this.ctx.counters.dropped(PROTOCOL, 'pipeline-overflow', 0);
      this.emit(dropped);
    }
    this.queue.push(ex);
    this.reading = ex;
    if (head.method === 'CONNECT' || wantsUpgrade(head)) {
      // Whatever the client sends next depends on the answer: hold it until then.
      const te = head.headers['transfer-encoding'];
      const cl = head.headers['content-length'];
      if (te === undefined && (cl === undefined || cl.trim() === '0')) return BODY_HOLD;
    }
    return BODY_AUTO;
  }

  private onRequestEnd(bytes: number, ok: boolean): void {
    const ex = this.reading;
    if (!ex) return;
    if (!ok) ex.complete = false;
    if (bytes < 0) return; // framing survived a gap: the request goes on
    ex.requestBytes = bytes;
    ex.requestDone = true;
    this.reading = undefined;
  }

  private onResponseHead(head: MessageHead, ts: number): number {
    let ex = this.queue[0];
    if (!ex) {
      // A response whose request the capture never saw.
      ex = new Exchange(ts);
      ex.complete = false;
      this.queue.push(ex);
    }
    this.answering = ex;
    const status = head.statusCode;
    if (status < 200 && status !== 101) {
      this.informational = true;
      return BODY_NONE;
    }
    ex.statusCode = status;
    ex.responseHeaders = head.headers;
    ex.responseBody = new BodyCollector(head.headers, this.ctx.limits.maxBodyBytes, MAX_SSE_LINE);
    if (status === 101) return BODY_SWITCH;
    if (ex.method === 'CONNECT' && status >= 200 && status < 300) return BODY_SWITCH;
    // Not switching after all: bytes held after an upgrade request are HTTP again.
    this.requests.release(ts);
    if (ex.method === 'HEAD' || status === 204 || status === 304) return BODY_NONE;
    return BODY_AUTO;
  }

  private onResponseEnd(ts: number, bytes: number, ok: boolean): void {
    const ex = this.answering;
    if (!ex) return;
    if (!ok) ex.complete = false;
    if (bytes < 0) return;
    ex.responseBytes += bytes;
    ex.endMs = ts;
    if (this.informational) {
      this.informational = false;
      return;
    }
    this.answering = undefined;
    if (this.queue[0] === ex) this.queue.shift();
    this.emit(ex);
  }

  private onSwitch(rest: Buffer, ts: number): void {
    this.switched = true;
    this.requests.switchHeld(ts);
    const carry: { side: Side; bytes: Buffer }[] = [];
    if (this.clientCarry && this.clientCarry.length > 0)
      carry.push({ side: 'client', bytes: this.clientCarry });
    if (rest.length > 0) carry.push({ side: 'server', bytes: rest });
    this.clientCarry = undefined;
    // An upgrade nobody parses leaves the rest of the connection unobserved.
    if (this.switchTo !== undefined && this.handoff !== undefined) {
      this.ctx.switchProtocol(this.switchTo, carry, this.handoff);
    }
  }

  private emit(ex: Exchange): void {
    const http: HttpInfo = {};
    if (ex.method !== undefined) http.method = ex.method;
    if (ex.path !== undefined) http.path = ex.path;
    if (ex.host !== undefined) http.host = ex.host;
    if (ex.statusCode !== 0) http.statusCode = ex.statusCode;
    if (ex.requestHeaders !== undefined) http.requestHeaders = ex.requestHeaders;
    if (ex.responseHeaders !== undefined) http.responseHeaders = ex.responseHeaders;
    const tx: Transaction = {
      protocol: PROTOCOL,
      startMs: ex.startMs,
      endMs: ex.endMs,
      requestBytes: ex.requestBytes,
      responseBytes: ex.responseBytes,
      complete: ex.complete && ex.requestDone && ex.statusCode !== 0,
      http,
    };
    if (ex.method !== undefined) tx.operation = `${ex.method} ${ex.path}`;
    if (ex.statusCode !== 0) tx.status = ex.statusCode;
    if (ex.requestHeaders !== undefined && ex.requestBody)
      tx.request = ex.requestBody.finish(ex.requestHeaders, ex.endMs);
    if (ex.responseHeaders !== undefined && ex.responseBody) {
      tx.response = ex.responseBody.finish(ex.responseHeaders, ex.endMs);
    }
    if (ex.statusCode === 101) {
      this.switchTo = upgradeProtocol(ex.responseHeaders?.upgrade);
      this.handoff = { startMs: ex.startMs, http };
      if (this.switchTo === 'http2') {
        // h2c: this request is HTTP/2 stream 1, which reports it with its real response.
        // Emitting the 101 as well would count one request twice.
        this.handoff.exchange = tx;
        return;
      }
    } else if (ex.method === 'CONNECT' && ex.statusCode >= 200 && ex.statusCode < 300) {
      // A proxy tunnel: what follows is almost always TLS.
      this.switchTo = 'tls';
      this.handoff = { startMs: ex.startMs, http };
    }
    this.ctx.emit(tx);
  }
}
