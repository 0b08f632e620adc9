/**
 * TCP reassembly per connection and direction. Hands each side's bytes, in order and
 * exactly once, to the connection's sink; reports holes as gaps instead of waiting forever.
 *
 * - out-of-order segments are copied into a bounded per-direction list until the hole
 *   fills; retransmitted and overlapping bytes are trimmed;
 * - a hole is declared a gap when the peer acknowledges bytes we never saw (the capture
 *   lost them), when the direction's buffer limit is hit, or when the connection ends;
 * - SYN fixes the initiator and the initial sequence numbers; a connection first seen
 *   mid-stream starts at its first data segment and guesses the client by port;
 * - FIN on both sides, RST, idle timeout or eviction (too many connections) close it.
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpSegment } from './packet.ts';

export type Side = 'client' | 'server';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface ReassemblyLimits {
  /** Most connections tracked at once; the least recently opened is evicted beyond it. */
  maxConnections: number;
  /** Out-of-order bytes buffered per direction before the hole is declared a gap. */
  maxConnectionBufferBytes: number;
  /** Out-of-order bytes buffered over all connections; segments beyond it are dropped. */
  maxTotalBufferBytes: number;
  /** A connection with no packet for this long (capture time) is closed. */
  idleTimeoutMs: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = {
  maxConnections: 10_000,
  maxConnectionBufferBytes: 1 << 20,
  maxTotalBufferBytes: 64 << 20,
  idleTimeoutMs: 5 * 60_000,
};

export interface StreamSink {
  onData(side: Side, chunk: Buffer, tsMs: number): void;
  onGap(side: Side, bytes: number, tsMs: number): void;
  onClose(tsMs: number): void;
}

export interface TcpConnection {
  id: string;
  client: Endpoint;
  server: Endpoint;
  /** True when the SYN was not seen. */
  midstream: boolean;
}

export interface ReassemblyCounters {
  connectionsOpened: number;
  connectionsClosed: number;
  connectionsEvicted: number;
  connectionsExpired: number;
  gaps: number;
  gapBytes: number;
  retransmittedBytes: number;
  /** Out-of-order bytes dropped because the total buffer bound was reached. */
  droppedBytes: number;
  bufferedBytes: number;
}

export function newReassemblyCounters(): ReassemblyCounters {
  return {
    connectionsOpened: 0,
    connectionsClosed: 0,
    connectionsEvicted: 0,
    connectionsExpired: 0,
    gaps: 0,
    gapBytes: 0,
    retransmittedBytes: 0,
    droppedBytes: 0,
    bufferedBytes: 0,
  };
}

interface PendingSegment {
  seq: number;
  data: Buffer;
  tsMs: number;
}

class Stream {
  started = false;
  nextSeq = 0;
  /** Absolute sequence number of the FIN, once seen. */
  finSeq = -1;
  finished = false;
  pending: PendingSegment[] = [];
  pendingBytes = 0;
}

class Connection {
  readonly info: TcpConnection;
  readonly key: string;
  readonly client: Stream = new Stream();
  readonly server: Stream = new Stream();
  sink: StreamSink | undefined = undefined;
  lastSeenMs: number;
  closed = false;
  constructor(info: TcpConnection, key: string, tsMs: number) {
    this.info = info;
    this.key = key;
    this.lastSeenMs = tsMs;
  }
}

/** Signed distance from b to a in 32-bit sequence space. */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export interface Reassembler {
  /** One decoded TCP segment; `frame` holds its payload at seg.payloadStart..payloadEnd. */
  segment(seg: TcpSegment, frame: Buffer, tsMs: number): void;
  /** Closes connections idle since before `nowMs - idleTimeoutMs`. */
  expire(nowMs: number): void;
  /** Closes every connection (end of capture). */
  closeAll(tsMs: number): void;
  readonly activeConnections: number;
  readonly counters: ReassemblyCounters;
}

export interface ReassemblerOptions {
  limits?: Partial<ReassemblyLimits>;
  /** Called once per new connection; the sink receives its bytes. */
  onOpen(conn: TcpConnection): StreamSink;
  counters?: ReassemblyCounters;
}

export function createReassembler(options: ReassemblerOptions): Reassembler {
  const limits: ReassemblyLimits = { ...DEFAULT_REASSEMBLY_LIMITS, ...options.limits };
  const counters = options.counters ?? newReassemblyCounters();
  const table = new Map<string, Connection>();
  let nextId = 1;

  function open(
    seg: TcpSegment,
    key: string,
    srcIsClient: boolean,
    midstream: boolean,
    tsMs: number,
  ): Connection {
    if (table.size >= limits.maxConnections) {
      const oldest = table.values().next().value;
      if (oldest) {
        counters.connectionsEvicted++;
        finish(oldest, tsMs);
      }
    }
    const src = { ip: seg.srcIp, port: seg.srcPort };
    const dst = { ip: seg.dstIp, port: seg.dstPort };
    const client = srcIsClient ? src : dst;
    const server = srcIsClient ? dst : src;
    const info: TcpConnection = {
      id: `${client.ip}:${client.port}>${server.ip}:${server.port}#${nextId++}`,
      client,
      server,
      midstream,
    };
    const conn = new Connection(info, key, tsMs);
    table.set(key, conn);
    counters.connectionsOpened++;
    conn.sink = options.onOpen(info);
    return conn;
  }

  function finish(conn: Connection, tsMs: number): void {
    if (conn.closed) return;
    conn.closed = true;
    table.delete(conn.key);
    flushPending(conn, 'client', conn.client, tsMs);
    flushPending(conn, 'server', conn.server, tsMs);
    counters.connectionsClosed++;
    conn.sink?.onClose(tsMs);
  }

  function flushPending(conn: Connection, side: Side, s: Stream, tsMs: number): void {
    while (s.pending.length > 0) skipToPending(conn, side, s, tsMs);
  }

  /** Declares the hole before the first pending segment a gap and delivers what follows. */
  function skipToPending(conn: Connection, side: Side, s: Stream, tsMs: number): void {
    const first = s.pending[0]!;
    const missing = seqDiff(first.seq, s.nextSeq);
    if (missing > 0) {
      gap(conn, side, s, missing, tsMs);
      s.nextSeq = first.seq;
    }
    drain(conn, side, s);
  }

  function gap(conn: Connection, side: Side, s: Stream, bytes: number, tsMs: number): void {
    counters.gaps++;
    counters.gapBytes += bytes;
    s.nextSeq = (s.nextSeq + bytes) >>> 0;
    conn.sink?.onGap(side, bytes, tsMs);
  }

  function deliver(conn: Connection, side: Side, s: Stream, chunk: Buffer, tsMs: number): void {
    s.nextSeq = (s.nextSeq + chunk.length) >>> 0;
    if (chunk.length > 0) conn.sink?.onData(side, chunk, tsMs);
    if (s.finSeq >= 0 && s.nextSeq === s.finSeq) s.finished = true;
  }

  /** Delivers pending segments that have become contiguous. */
  function drain(conn: Connection, side: Side, s: Stream): void {
    while (s.pending.length > 0) {
      const p = s.pending[0]!;
      const rel = seqDiff(p.seq, s.nextSeq);
      if (rel > 0) return;
      s.pending.shift();
      s.pendingBytes -= p.data.length;
      counters.bufferedBytes -= p.data.length;
      if (rel + p.data.length <= 0) {
        counters.retransmittedBytes += p.data.length;
        continue;
      }
      deliver(conn, side, s, p.data.subarray(-rel), p.tsMs);
    }
  }

  function buffer(conn: Connection, side: Side, s: Stream, seq: number, data: Buffer, tsMs: number): void {
    if (s.pendingBytes + data.length > limits.maxConnectionBufferBytes) {
      // The hole is not going to fill in time: give up on it and move on.
      skipToPending(conn, side, s, tsMs);
      const rel = seqDiff(seq, s.nextSeq);
      if (rel <= 0) {
        accept(conn, side, s, seq, data, tsMs);
        return;
      }
      if (data.length > limits.maxConnectionBufferBytes) {
        gap(conn, side, s, rel, tsMs);
        deliver(conn, side, s, data, tsMs);
        return;
      }
    }
    if (counters.bufferedBytes + data.length > limits.maxTotalBufferBytes) {
      counters.droppedBytes += data.length;
      return;
    }
    const copy = Buffer.from(data);
    let i = s.pending.length;
    while (i > 0 && seqDiff(s.pending[i - 1]!.seq, seq) > 0) i--;
    const prev = s.pending[i - 1];
    if (prev && prev.seq === seq && prev.data.length >= copy.length) {
      counters.retransmittedBytes += copy.length;
      return;
    }
    s.pending.splice(i, 0, { seq, data: copy, tsMs });
    s.pendingBytes += copy.length;
    counters.bufferedBytes += copy.length;
  }

  function accept(conn: Connection, side: Side, s: Stream, seq: number, data: Buffer, tsMs: number): void {
    const rel = seqDiff(seq, s.nextSeq);
    if (rel + data.length <= 0) {
      counters.retransmittedBytes += data.length;
      return;
    }
    if (rel <= 0) {
      if (rel < 0) counters.retransmittedBytes += -rel;
      deliver(conn, side, s, rel < 0 ? data.subarray(-rel) : data, tsMs);
      drain(conn, side, s);
      return;
    }
    buffer(conn, side, s, seq, data, tsMs);
  }

  function segment(seg: TcpSegment, frame: Buffer, tsMs: number): void {
    const { srcIp, dstIp, srcPort, dstPort, flags } = seg;
    const srcFirst = srcIp < dstIp || (srcIp === dstIp && srcPort <= dstPort);
    const key = srcFirst
      ? `${srcIp}|${srcPort}|${dstIp}|${dstPort}`
      : `${dstIp}|${dstPort}|${srcIp}|${srcPort}`;
    let conn = table.get(key);
    const payloadLen = seg.payloadEnd - seg.payloadStart;
    const syn = (flags & TCP_SYN) !== 0;
    const ackFlag = (flags & TCP_ACK) !== 0;

    if (conn && syn && !ackFlag) {
      // A new SYN on a tracked 4-tuple: port reuse after a close we missed.
      const stale =
        conn.info.client.ip !== srcIp ||
        conn.info.client.port !== srcPort ||
        conn.client.nextSeq !== (seg.seq + 1) >>> 0;
      if (stale) {
        finish(conn, tsMs);
        conn = undefined;
      }
    }
    if (!conn) {
      if ((flags & TCP_RST) !== 0) return;
      if (syn) {
        conn = open(seg, key, !ackFlag, false, tsMs);
      } else if (payloadLen > 0) {
        // Mid-stream: the lower port is most likely the server's.
        conn = open(seg, key, srcPort > dstPort || (srcPort === dstPort && srcFirst), true, tsMs);
      } else {
        return;
      }
    }
    conn.lastSeenMs = tsMs;
    const fromClient = conn.info.client.port === srcPort && conn.info.client.ip === srcIp;
    const side: Side = fromClient ? 'client' : 'server';
    const s = fromClient ? conn.client : conn.server;
    const peer = fromClient ? conn.server : conn.client;

    let seq = seg.seq;
    if (syn) {
      if (!s.started) {
        s.started = true;
        s.nextSeq = (seq + 1) >>> 0;
      }
      seq = (seq + 1) >>> 0;
    } else if (!s.started && payloadLen > 0) {
      s.started = true;
      s.nextSeq = seq;
    }
    if (syn && ackFlag && !peer.started) {
      // SYN-ACK without the SYN: the peer's data starts at what this side acknowledges.
      peer.started = true;
      peer.nextSeq = seg.ack;
    }

    if (payloadLen > 0 && s.started) {
      accept(conn, side, s, seq, frame.subarray(seg.payloadStart, seg.payloadEnd), tsMs);
    }
    if ((flags & TCP_FIN) !== 0 && s.started) {
      s.finSeq = (seq + payloadLen) >>> 0;
      if (s.nextSeq === s.finSeq) s.finished = true;
    }
    if (ackFlag && peer.started && !conn.closed) {
      // The peer has bytes acknowledged that the capture never delivered: they are lost.
      let limit = seg.ack;
      if (peer.finSeq >= 0 && seqDiff(limit, peer.finSeq) > 0) limit = peer.finSeq;
      if (seqDiff(limit, peer.nextSeq) > 0) {
        const peerSide: Side = fromClient ? 'server' : 'client';
        while (peer.pending.length > 0 && seqDiff(peer.pending[0]!.seq, limit) <= 0) {
          skipToPending(conn, peerSide, peer, tsMs);
        }
        const missing = seqDiff(limit, peer.nextSeq);
        if (missing === 1 && peer.finSeq < 0 && peer.pending.length === 0) {
          // One acknowledged sequence number and nothing after it: the FIN we did not see.
          peer.finSeq = peer.nextSeq;
          peer.finished = true;
        } else if (missing > 0) {
          gap(conn, peerSide, peer, missing, tsMs);
        }
        if (peer.finSeq >= 0 && peer.nextSeq === peer.finSeq) peer.finished = true;
      }
    }
    if ((flags & TCP_RST) !== 0 || (conn.client.finished && conn.server.finished)) {
      finish(conn, tsMs);
    }
  }

  function expire(nowMs: number): void {
    const deadline = nowMs - limits.idleTimeoutMs;
    for (const conn of table.values()) {
      if (conn.lastSeenMs < deadline) {
        counters.connectionsExpired++;
        finish(conn, nowMs);
      }
    }
  }

  function closeAll(tsMs: number): void {
    for (const conn of [...table.values()]) finish(conn, tsMs);
  }

  return {
    segment,
    expire,
    closeAll,
    get activeConnections() {
      return table.size;
    },
    counters,
  };
}
