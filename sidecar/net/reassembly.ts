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
import { randomInt } from 'node:crypto';
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

/**
 * Per-process seed of the flow hash: the 4-tuples are chosen by whoever sends traffic, and
 * an unseeded hash would let them pile every connection into one bucket.
 */
const FLOW_SEED = randomInt(0x7fffffff);

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Hash of one endpoint (address words and port). */
function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = mix(w3 ^ FLOW_SEED);
  h = mix(h ^ w2);
  h = mix(h ^ w1);
  h = mix(h ^ w0);
  return mix(h ^ port);
}

/**
 * The same for both directions of a connection (a sum of the two endpoints' hashes), kept
 * within small-integer range so the table's Map keys stay unboxed.
 */
function flowHash(seg: TcpSegment): number {
  const a = endpointHash(seg.src0, seg.src1, seg.src2, seg.src3, seg.srcPort);
  const b = endpointHash(seg.dst0, seg.dst1, seg.dst2, seg.dst3, seg.dstPort);
  return (a + b) & 0x3fffffff;
}

const NO_MATCH = 0;
const FROM_CLIENT = 1;
const FROM_SERVER = 2;

class Connection {
  readonly info: TcpConnection;
  readonly hash: number;
  /** The next connection whose flow hash is the same (the bucket's chain). */
  nextInBucket: Connection | undefined = undefined;
  // The 4-tuple as decoded (address words and ports), compared on every packet.
  readonly ipVersion: number;
  readonly c0: number;
  readonly c1: number;
  readonly c2: number;
  readonly c3: number;
  readonly cPort: number;
  readonly s0: number;
  readonly s1: number;
  readonly s2: number;
  readonly s3: number;
  readonly sPort: number;
  readonly client: Stream = new Stream();
  readonly server: Stream = new Stream();
  sink: StreamSink | undefined = undefined;
  lastSeenMs: number;
  closed = false;
  constructor(info: TcpConnection, seg: TcpSegment, srcIsClient: boolean, hash: number, tsMs: number) {
    this.info = info;
    this.hash = hash;
    this.ipVersion = seg.ipVersion;
    if (srcIsClient) {
      this.c0 = seg.src0;
      this.c1 = seg.src1;
      this.c2 = seg.src2;
      this.c3 = seg.src3;
      this.cPort = seg.srcPort;
      this.s0 = seg.dst0;
      this.s1 = seg.dst1;
      this.s2 = seg.dst2;
      this.s3 = seg.dst3;
      this.sPort = seg.dstPort;
    } else {
      this.c0 = seg.dst0;
      this.c1 = seg.dst1;
      this.c2 = seg.dst2;
      this.c3 = seg.dst3;
      this.cPort = seg.dstPort;
      this.s0 = seg.src0;
      this.s1 = seg.src1;
      this.s2 = seg.src2;
      this.s3 = seg.src3;
      this.sPort = seg.srcPort;
    }
    this.lastSeenMs = tsMs;
  }

  /** FROM_CLIENT or FROM_SERVER when `seg` belongs to this connection, else NO_MATCH. */
  match(seg: TcpSegment): number {
    if (seg.ipVersion !== this.ipVersion) return NO_MATCH;
    if (
      seg.srcPort === this.cPort &&
      seg.dstPort === this.sPort &&
      seg.src3 === this.c3 &&
      seg.dst3 === this.s3 &&
      seg.src2 === this.c2 &&
      seg.dst2 === this.s2 &&
      seg.src1 === this.c1 &&
      seg.dst1 === this.s1 &&
      seg.src0 === this.c0 &&
      seg.dst0 === this.s0
    ) {
      return FROM_CLIENT;
    }
    if (
      seg.srcPort === this.sPort &&
      seg.dstPort === this.cPort &&
      seg.src3 === this.s3 &&
      seg.dst3 === this.c3 &&
      seg.src2 === this.s2 &&
      seg.dst2 === this.c2 &&
      seg.src1 === this.s1 &&
      seg.dst1 === this.c1 &&
      seg.src0 === this.s0 &&
      seg.dst0 === this.c0
    ) {
      return FROM_SERVER;
    }
    return NO_MATCH;
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
  /** Replaces the flow hash (tests: a constant one puts every connection in one bucket). */
  flowHash?: (seg: TcpSegment) => number;
}

export function createReassembler(options: ReassemblerOptions): Reassembler {
  const limits: ReassemblyLimits = { ...DEFAULT_REASSEMBLY_LIMITS, ...options.limits };
  const counters = options.counters ?? newReassemblyCounters();
  const hashOf = options.flowHash ?? flowHash;
  /** Open connections, oldest first (eviction, expiry and closeAll walk it). */
  const byAge = new Set<Connection>();
  /** Flow hash → the first connection with that hash; the rest chain through nextInBucket. */
  const buckets = new Map<number, Connection>();
  let nextId = 1;

  /** FROM_CLIENT or FROM_SERVER for the connection lookup() found last. */
  let matched = NO_MATCH;
  /** The connection of the previous packet: bulk transfers arrive as runs of one flow. */
  let recent: Connection | undefined;

  function lookup(seg: TcpSegment, hash: number): Connection | undefined {
    let c = buckets.get(hash);
    while (c !== undefined) {
      matched = c.match(seg);
      if (matched !== NO_MATCH) return c;
      c = c.nextInBucket;
    }
    return undefined;
  }

  function unlink(conn: Connection): void {
    const head = buckets.get(conn.hash);
    if (head === conn) {
      if (conn.nextInBucket === undefined) buckets.delete(conn.hash);
      else buckets.set(conn.hash, conn.nextInBucket);
    } else {
      let c = head;
      while (c !== undefined && c.nextInBucket !== conn) c = c.nextInBucket;
      if (c !== undefined) c.nextInBucket = conn.nextInBucket;
    }
    conn.nextInBucket = undefined;
  }

  function open(
    seg: TcpSegment,
    hash: number,
    srcIsClient: boolean,
    midstream: boolean,
    tsMs: number,
  ): Connection {
    if (byAge.size >= limits.maxConnections) {
      const oldest = byAge.values().next().value;
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
    const conn = new Connection(info, seg, srcIsClient, hash, tsMs);
    conn.nextInBucket = buckets.get(hash);
    buckets.set(hash, conn);
    byAge.add(conn);
    counters.connectionsOpened++;
    conn.sink = options.onOpen(info);
    return conn;
  }

  function finish(conn: Connection, tsMs: number): void {
    if (conn.closed) return;
    conn.closed = true;
    if (recent === conn) recent = undefined;
    byAge.delete(conn);
    unlink(conn);
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
    const { srcPort, dstPort, flags } = seg;
    matched = recent === undefined ? NO_MATCH : recent.match(seg);
    let conn = matched !== NO_MATCH ? recent : lookup(seg, hashOf(seg));
    let fromClient = conn !== undefined && matched === FROM_CLIENT;
    const payloadLen = seg.payloadEnd - seg.payloadStart;
    const syn = (flags & TCP_SYN) !== 0;
    const ackFlag = (flags & TCP_ACK) !== 0;

    if (conn && syn && !ackFlag) {
      // A new SYN on a tracked 4-tuple: port reuse after a close we missed.
      const stale = !fromClient || conn.client.nextSeq !== (seg.seq + 1) >>> 0;
      if (stale) {
        finish(conn, tsMs);
        conn = undefined;
      }
    }
    if (!conn) {
      if ((flags & TCP_RST) !== 0) return;
      if (syn) {
        fromClient = !ackFlag;
      } else if (payloadLen > 0) {
        // Mid-stream: the lower port is most likely the server's (equal ports: the lower
        // address, as text, is taken for the client so both directions agree).
        fromClient = srcPort > dstPort || (srcPort === dstPort && seg.srcIp <= seg.dstIp);
      } else {
        return;
      }
      conn = open(seg, hashOf(seg), fromClient, !syn, tsMs);
    }
    recent = conn;
    conn.lastSeenMs = tsMs;
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
    for (const conn of byAge) {
      if (conn.lastSeenMs < deadline) {
        counters.connectionsExpired++;
        finish(conn, nowMs);
      }
    }
  }

  function closeAll(tsMs: number): void {
    for (const conn of [...byAge]) finish(conn, tsMs);
  }

  return {
    segment,
    expire,
    closeAll,
    get activeConnections() {
      return byAge.size;
    },
    counters,
  };
}
