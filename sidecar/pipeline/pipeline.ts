/**
 * capture → link/IP/TCP decoding → reassembly → protocol detection → sessions →
 * `onTransaction(tx, conn)`. Synchronous and single-threaded: the caller (live capture
 * or pcap replay) hands in frames one at a time.
 */
import type { Logger } from '../../lib/log.ts';
import { silentLogger } from '../../lib/log.ts';
import { DECODE_FRAGMENT, DECODE_MALFORMED, DECODE_OK, decodeTcp, newSegment } from '../net/packet.ts';
import {
  createReassembler,
  DEFAULT_REASSEMBLY_LIMITS,
  type ReassemblyLimits,
  type StreamSink,
  type TcpConnection,
} from '../net/reassembly.ts';
import { createDispatcher, registry } from '../protocols/registry.ts';
import type { ConnectionInfo, ParserLimits, ProtocolDefinition, Transaction } from '../protocols/types.ts';
import { PipelineCounters } from './counters.ts';

export interface PipelineLimits extends ParserLimits, ReassemblyLimits {}

export const DEFAULT_PIPELINE_LIMITS: PipelineLimits = {
  ...DEFAULT_REASSEMBLY_LIMITS,
  maxBodyBytes: 1 << 20,
  maxMessageBytes: 16 << 20,
};

/** Idle connections are looked for at most this often (capture time). */
const EXPIRE_EVERY_MS = 1000;

export interface PipelineOptions {
  /** Enabled parsers (registry.select(rules.protocols)); defaults to every registered one. */
  protocols?: readonly ProtocolDefinition[];
  /** The pod's own addresses: connections they open are outbound, the rest inbound. */
  podIps?: readonly string[];
  limits?: Partial<PipelineLimits>;
  log?: Logger;
  onTransaction(tx: Transaction, conn: ConnectionInfo): void;
}

export interface Pipeline {
  /** One captured frame; `linkType` is the pcap LINKTYPE_*; `tsMs` its capture time. */
  handlePacket(linkType: number, frame: Buffer, tsMs: number): void;
  /** Ends every open connection now, emitting what is in flight (marked incomplete). */
  flush(): void;
  /** flush() and stop accepting packets. */
  close(): void;
  readonly counters: PipelineCounters;
  readonly limits: PipelineLimits;
}

export function createPipeline(options: PipelineOptions): Pipeline {
  const limits: PipelineLimits = { ...DEFAULT_PIPELINE_LIMITS, ...options.limits };
  const log = options.log ?? silentLogger;
  const protocols = options.protocols ?? registry.list();
  const podIps = new Set(options.podIps ?? []);
  const counters = new PipelineCounters();
  const onTransaction = options.onTransaction;
  const seg = newSegment();
  let lastTs = 0;
  let lastExpire = 0;
  let closed = false;

  const emit = (tx: Transaction, conn: ConnectionInfo): void => {
    counters.transactions++;
    try {
      onTransaction(tx, conn);
    } catch (err) {
      counters.internalErrors++;
      log.error({ err, conn: conn.id }, 'transaction listener failed');
    }
  };

  function direction(tcp: TcpConnection): 'outbound' | 'inbound' {
    if (podIps.size === 0 || podIps.has(tcp.client.ip)) return 'outbound';
    return podIps.has(tcp.server.ip) ? 'inbound' : 'outbound';
  }

  function onOpen(tcp: TcpConnection): StreamSink {
    const conn: ConnectionInfo = {
      id: tcp.id,
      client: tcp.client,
      server: tcp.server,
      direction: direction(tcp),
      midstream: tcp.midstream,
    };
    const dispatcher = createDispatcher({
      conn,
      protocols,
      lookup: (name) => protocols.find((p) => p.name === name) ?? registry.get(name),
      limits,
      counters,
      log,
      emit,
      onUndetected: () => {
        counters.connectionsUndetected++;
      },
    });
    let broken = false;
    // A parser bug must cost one connection, never the capture.
    const guard = (what: string, err: unknown): void => {
      broken = true;
      counters.internalErrors++;
      log.error({ err, conn: conn.id, protocol: dispatcher.protocol }, `parser failed in ${what}`);
    };
    return {
      onData(side, chunk, tsMs) {
        if (broken) return;
        try {
          dispatcher.onData(side, chunk, tsMs);
        } catch (err) {
          guard('onData', err);
        }
      },
      onGap(side, bytes, tsMs) {
        if (broken) return;
        try {
          dispatcher.onGap(side, bytes, tsMs);
        } catch (err) {
          guard('onGap', err);
        }
      },
      onClose(tsMs) {
        if (broken) return;
        try {
          dispatcher.onClose(tsMs);
        } catch (err) {
          guard('onClose', err);
        }
      },
    };
  }

  const reassembler = createReassembler({ limits, onOpen, counters: counters.reassembly });
  counters.activeConnections = () => reassembler.activeConnections;

  function handlePacket(linkType: number, frame: Buffer, tsMs: number): void {
    if (closed) return;
    counters.packets++;
    counters.bytes += frame.length;
    const r = decodeTcp(linkType, frame, seg);
    if (r !== DECODE_OK) {
      if (r === DECODE_MALFORMED) counters.malformedPackets++;
      else if (r === DECODE_FRAGMENT) counters.fragments++;
      else counters.ignoredPackets++;
      return;
    }
    if (tsMs > lastTs) lastTs = tsMs;
    reassembler.segment(seg, frame, tsMs);
    if (lastTs - lastExpire >= EXPIRE_EVERY_MS) {
      lastExpire = lastTs;
      reassembler.expire(lastTs);
    }
  }

  return {
    handlePacket,
    flush() {
      reassembler.closeAll(lastTs);
    },
    close() {
      if (closed) return;
      reassembler.closeAll(lastTs);
      closed = true;
    },
    counters,
    limits,
  };
}
