/**
 * Pipeline counters: plain numbers bumped on the hot path (no listeners, no allocation);
 * the metrics module reads them when Prometheus scrapes (prom-client `collect`).
 */

import { newReassemblyCounters, type ReassemblyCounters } from '../net/reassembly.ts';
import type { ParserCounters } from '../protocols/types.ts';
import type { ProtocolName } from '../signal/types.ts';

export interface PipelineCountersSnapshot {
  /** Frames handed to the pipeline and their captured bytes. */
  packets: number;
  bytes: number;
  /** Packets the kernel dropped before libpcap saw them (live capture only). */
  kernelDrops: number;
  /** Frames that were not IPv4/IPv6 TCP (ARP, UDP, ...): ignored, not an error. */
  ignoredPackets: number;
  /** Truncated or inconsistent headers. */
  malformedPackets: number;
  /** IP fragments (not reassembled; TCP stacks avoid them with PMTU discovery). */
  fragments: number;
  connectionsOpened: number;
  connectionsActive: number;
  connectionsEvicted: number;
  connectionsExpired: number;
  /** Connections whose protocol nobody here recognized (their bytes are ignored). */
  connectionsUndetected: number;
  gaps: number;
  gapBytes: number;
  retransmittedBytes: number;
  /** Reassembly buffer currently holding out-of-order bytes. */
  bufferedBytes: number;
  parseErrors: number;
  /** Connections recognized but not parsed (TLS or GSSAPI switch, MySQL compression, ...). */
  connectionsNotParsed: number;
  droppedBytes: number;
  transactions: number;
  /** Exceptions thrown by a parser or the listener (bugs); the connection is dropped. */
  internalErrors: number;
}

export class PipelineCounters implements ParserCounters {
  packets = 0;
  bytes = 0;
  kernelDrops = 0;
  ignoredPackets = 0;
  malformedPackets = 0;
  fragments = 0;
  connectionsUndetected = 0;
  transactions = 0;
  internalErrors = 0;
  parseErrorTotal = 0;
  notParsedTotal = 0;
  droppedByParsers = 0;
  readonly reassembly: ReassemblyCounters = newReassemblyCounters();
  /** Parse errors by `protocol` and `code`. */
  readonly parseErrorsBy = new Map<string, { protocol: string; code: string; count: number }>();
  /** Connections not parsed by `protocol` and `reason`. */
  readonly notParsedBy = new Map<string, { protocol: string; reason: string; count: number }>();
  /**
   * Drops by `reason` (`reassembly-buffer`, parser reasons): bytes, and how many times, since
   * a dropped request, stream or statement reports 0 bytes and would otherwise not show.
   */
  readonly droppedBy = new Map<string, { protocol: string; reason: string; bytes: number; count: number }>();
  activeConnections: () => number = () => 0;

  parseError(protocol: ProtocolName | string, code: string): void {
    this.parseErrorTotal++;
    const key = `${protocol}\u0000${code}`;
    const entry = this.parseErrorsBy.get(key);
    if (entry) entry.count++;
    else this.parseErrorsBy.set(key, { protocol, code, count: 1 });
  }

  notParsed(protocol: ProtocolName | string, reason: string): void {
    this.notParsedTotal++;
    const key = `${protocol}\u0000${reason}`;
    const entry = this.notParsedBy.get(key);
    if (entry) entry.count++;
    else this.notParsedBy.set(key, { protocol, reason, count: 1 });
  }

  dropped(protocol: ProtocolName | string, reason: string, bytes: number): void {
    this.droppedByParsers += bytes;
    const key = `${protocol}\u0000${reason}`;
    const entry = this.droppedBy.get(key);
    if (entry) {
      entry.bytes += bytes;
      entry.count++;
    } else this.droppedBy.set(key, { protocol, reason, bytes, count: 1 });
  }

  snapshot(): PipelineCountersSnapshot {
    const r = this.reassembly;
    return {
      packets: this.packets,
      bytes: this.bytes,
      kernelDrops: this.kernelDrops,
      ignoredPackets: this.ignoredPackets,
      malformedPackets: this.malformedPackets,
      fragments: this.fragments,
      connectionsOpened: r.connectionsOpened,
      connectionsActive: this.activeConnections(),
      connectionsEvicted: r.connectionsEvicted,
      connectionsExpired: r.connectionsExpired,
      connectionsUndetected: this.connectionsUndetected,
      gaps: r.gaps,
      gapBytes: r.gapBytes,
      retransmittedBytes: r.retransmittedBytes,
      bufferedBytes: r.bufferedBytes,
      parseErrors: this.parseErrorTotal,
      connectionsNotParsed: this.notParsedTotal,
      droppedBytes: this.droppedByParsers + r.droppedBytes,
      transactions: this.transactions,
      internalErrors: this.internalErrors,
    };
  }
}
