/**
 * One WebSocket connection (after the HTTP upgrade): one Transaction for the whole
 * connection with message and byte counts and the close code, plus one per data message
 * when a rule asks for them (limits.websocketMessages), with the message decompressed
 * (permessage-deflate, RFC 7692) for body rules.
 */
import { constants, inflateRawSync } from 'node:zlib';
import type { HttpInfo } from '../../signal/types.ts';
import type { Payload, ProtocolSession, SessionContext, Side, Transaction } from '../types.ts';
import { FrameDecoder, type FrameHandler } from './frames.ts';

const PROTOCOL = 'websocket';
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

interface DeflateParams {
  enabled: boolean;
  clientNoContext: boolean;
  serverNoContext: boolean;
}

function deflateParams(http: HttpInfo | undefined): DeflateParams {
  const ext = http?.responseHeaders?.['sec-websocket-extensions'] ?? '';
  const first = ext
    .split(',')
    .map((e) => e.trim())
    .find((e) => e.toLowerCase().startsWith('permessage-deflate'));
  if (first === undefined) return { enabled: false, clientNoContext: false, serverNoContext: false };
  const lower = first.toLowerCase();
  return {
    enabled: true,
    clientNoContext: lower.includes('client_no_context_takeover'),
    serverNoContext: lower.includes('server_no_context_takeover'),
  };
}

/** Deflate's window: back-references reach at most this far into earlier output. */
const WINDOW_BYTES = 32 * 1024;

/**
 * Per-direction inflater. With context takeover a message may refer back into earlier
 * messages' output; each message is inflated on its own with the last 32 KiB of output
 * as preset dictionary, which is exactly the window the sender compressed against.
 */
class MessageInflater {
  private window: Buffer | undefined = undefined;
  private readonly noContext: boolean;
  private readonly maxOutput: number;
  /** Once a message could not be inflated the shared window is lost for good. */
  broken = false;
  constructor(noContext: boolean, maxOutput: number) {
    this.noContext = noContext;
    this.maxOutput = Math.max(1, maxOutput);
  }

  inflate(data: Buffer): Buffer | undefined {
    if (this.broken) return undefined;
    const input = Buffer.concat([data, DEFLATE_TAIL]);
    const useWindow = !this.noContext && this.window !== undefined;
    try {
      const out = inflateRawSync(input, {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: this.maxOutput,
        ...(useWindow ? { dictionary: this.window } : {}),
      });
      if (!this.noContext) {
        const joined = this.window ? Buffer.concat([this.window, out]) : out;
        this.window = Buffer.from(joined.subarray(Math.max(0, joined.length - WINDOW_BYTES)));
      }
      return out;
    } catch {
      this.broken = !this.noContext;
      return undefined;
    }
  }
}

export class WebSocketSession implements ProtocolSession {
  private readonly ctx: SessionContext;
  private readonly client: FrameDecoder;
  private readonly server: FrameDecoder;
  private readonly clientInflate: MessageInflater | undefined;
  private readonly serverInflate: MessageInflater | undefined;
  private readonly perMessage: boolean;
  private startMs: number;
  private readonly http: HttpInfo | undefined;
  private clientMessages = 0;
  private serverMessages = 0;
  private clientBytes = 0;
  private serverBytes = 0;
  private closeCode: number | undefined = undefined;
  private clientClosed = false;
  private serverClosed = false;
  private complete = true;
  private done = false;
  private lastTs = 0;
  private started = false;

  constructor(ctx: SessionContext) {
    this.ctx = ctx;
    this.http = ctx.handoff?.http;
    this.startMs = ctx.handoff?.startMs ?? 0;
    this.started = ctx.handoff !== undefined;
    if (!this.started) this.complete = false;
    this.perMessage = ctx.limits.websocketMessages === true;
    const deflate = deflateParams(this.http);
    const max = ctx.limits.maxBodyBytes;
    // Whole messages are inflated (the window needs them), bounded by the message limit.
    const maxMsg = ctx.limits.maxMessageBytes;
    this.clientInflate =
      deflate.enabled && this.perMessage ? new MessageInflater(deflate.clientNoContext, maxMsg) : undefined;
    this.serverInflate =
      deflate.enabled && this.perMessage ? new MessageInflater(deflate.serverNoContext, maxMsg) : undefined;
    // Keep whole compressed messages (up to the message bound) so the window stays right.
    const keepMax = deflate.enabled ? ctx.limits.maxMessageBytes : max;
    this.client = new FrameDecoder(this.handler('client'), this.perMessage, keepMax, deflate.enabled);
    this.server = new FrameDecoder(this.handler('server'), this.perMessage, keepMax, deflate.enabled);
  }

  private handler(side: Side): FrameHandler {
    return {
      onMessage: (_op, compressed, wireBytes, payload, truncated, startMs, endMs) => {
        if (side === 'client') this.clientMessages++;
        else this.serverMessages++;
        if (this.perMessage)
          this.emitMessage(side, compressed, wireBytes, payload, truncated, startMs, endMs);
      },
      onClose: (code, ts) => {
        if (side === 'client') this.clientClosed = true;
        else this.serverClosed = true;
        if (this.closeCode === undefined && code !== undefined) this.closeCode = code;
        if (this.clientClosed && this.serverClosed) this.finish(ts);
      },
      onError: (code) => {
        this.complete = false;
        this.ctx.counters.parseError(PROTOCOL, code);
      },
    };
  }

  onData(side: Side, chunk: Buffer, tsMs: number): void {
    if (!this.started) {
      this.started = true;
      this.startMs = tsMs;
    }
    this.lastTs = tsMs;
    if (side === 'client') {
      this.clientBytes += chunk.length;
      this.client.parse(chunk, tsMs);
    } else {
      this.serverBytes += chunk.length;
      this.server.parse(chunk, tsMs);
    }
  }

  onGap(side: Side, bytes: number, tsMs: number): void {
    this.lastTs = tsMs;
    this.complete = false;
    if (side === 'client') {
      this.clientBytes += bytes;
      this.client.stop();
    } else {
      this.serverBytes += bytes;
      this.server.stop();
    }
  }

  onClose(tsMs: number): void {
    this.finish(Math.max(this.lastTs, tsMs));
  }

  private sentSide(): Side {
    return this.ctx.conn.direction === 'outbound' ? 'client' : 'server';
  }

  private operation(): string {
    return this.http?.path !== undefined ? `WEBSOCKET ${this.http.path}` : 'WEBSOCKET';
  }

  private finish(tsMs: number): void {
    if (this.done) return;
    this.done = true;
    const outbound = this.sentSide() === 'client';
    const tx: Transaction = {
      protocol: PROTOCOL,
      startMs: this.startMs,
      endMs: Math.max(tsMs, this.startMs),
      operation: this.operation(),
      requestBytes: this.clientBytes,
      responseBytes: this.serverBytes,
      complete: this.complete && (this.clientClosed || this.serverClosed),
      websocket: {
        messagesSent: outbound ? this.clientMessages : this.serverMessages,
        messagesReceived: outbound ? this.serverMessages : this.clientMessages,
      },
    };
    if (this.closeCode !== undefined) {
      tx.websocket!.closeCode = this.closeCode;
      tx.status = this.closeCode;
    }
    if (this.http) tx.http = this.http;
    this.ctx.emit(tx);
  }

  private emitMessage(
    side: Side,
    compressed: boolean,
    wireBytes: number,
    payload: Buffer | undefined,
    truncated: boolean,
    startMs: number,
    endMs: number,
  ): void {
    let body = payload;
    let cut = truncated;
    if (compressed && payload) {
      const inflater = side === 'client' ? this.clientInflate : this.serverInflate;
      if (truncated && inflater) inflater.broken = true;
      body = truncated ? undefined : inflater?.inflate(payload);
      if (body === undefined) cut = true;
      else if (body.length > this.ctx.limits.maxBodyBytes) {
        body = body.subarray(0, this.ctx.limits.maxBodyBytes);
        cut = true;
      }
    } else if (body && body.length > this.ctx.limits.maxBodyBytes) {
      body = body.subarray(0, this.ctx.limits.maxBodyBytes);
      cut = true;
    }
    const content: Payload = {};
    if (body) content.body = body;
    if (cut) content.bodyTruncated = true;
    const sent = side === this.sentSide();
    const tx: Transaction = {
      protocol: PROTOCOL,
      startMs,
      endMs,
      operation: this.operation(),
      requestBytes: side === 'client' ? wireBytes : 0,
      responseBytes: side === 'server' ? wireBytes : 0,
      complete: !cut,
      websocket: sent ? { messagesSent: 1, messagesReceived: 0 } : { messagesSent: 0, messagesReceived: 1 },
    };
    if (this.http) tx.http = this.http;
    if (side === 'client') tx.request = content;
    else tx.response = content;
    this.ctx.emit(tx);
  }
}
