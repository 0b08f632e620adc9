/**
 * Live capture through libpcap (the `cap` binding): the BPF filter is compiled into the
 * kernel, packets are handed to the pipeline one by one from libpcap's buffer (a view that
 * is only valid during the call, which is the pipeline's contract anyway).
 *
 * `cap` neither reports capture timestamps nor pcap statistics: timestamps are taken when
 * the packet reaches JavaScript (immediate mode keeps that close to arrival), and kernel
 * drops come from the packet socket itself (PACKET_STATISTICS, see kernel-stats.ts).
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { CaptureError } from '../../lib/errors.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_NULL, LINKTYPE_RAW } from '../net/link.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { type KernelStats, openKernelStats, socketFds } from './kernel-stats.ts';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
  setMinBytes?(n: number): void;
}

interface CapModule {
  Cap: (new () => CapHandle) & { deviceList(): { name: string; addresses: { addr: string }[] }[] };
}

const LINK_TYPES: Record<string, number> = {
  ETHERNET: LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL: LINKTYPE_LINUX_SLL,
  RAW: LINKTYPE_RAW,
  NULL: LINKTYPE_NULL,
};

/** `cap` always asks libpcap for this snaplen; a larger --snaplen cannot be honoured. */
export const CAP_SNAPLEN = 65535;

export interface LiveCaptureOptions {
  /** Interface name, or `any` for all of the pod's interfaces (Linux cooked headers). */
  device: string;
  /** BPF filter, compiled by libpcap and attached in the kernel. Empty: everything. */
  filter: string;
  /** Bytes of each packet kept; at most 65535 with `cap`. */
  snaplen: number;
  /** Kernel ring buffer size in bytes. */
  bufferSize: number;
}

export interface CaptureStats {
  /** Packets that reached the pipeline. */
  received: number;
  /** Packets the kernel dropped because the buffer was full (0 when it cannot tell). */
  kernelDrops: number;
  /** False when kernel drop counts are unavailable (no packet socket statistics). */
  kernelDropsKnown: boolean;
  /** Packets cut by the snaplen. */
  truncated: number;
}

export interface LiveCapture {
  readonly linkType: number;
  /** Reads kernel statistics now and copies the drop count into the pipeline counters. */
  stats(): CaptureStats;
  close(): void;
}

let capModule: CapModule | undefined;

function loadCap(): CapModule {
  if (!capModule) {
    try {
      capModule = createRequire(import.meta.url)('cap') as CapModule;
    } catch (err) {
      throw new CaptureError(`libpcap binding (cap) failed to load: ${(err as Error).message}`);
    }
  }
  return capModule;
}

/** Capture time in ms since the epoch with sub-millisecond resolution. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function startLiveCapture(options: LiveCaptureOptions, pipeline: Pipeline): LiveCapture {
  const { Cap } = loadCap();
  const snaplen = Math.min(options.snaplen > 0 ? options.snaplen : CAP_SNAPLEN, CAP_SNAPLEN);
  const buffer = Buffer.alloc(snaplen);
  const cap = new Cap();
  const fdsBefore = socketFds();
  let linkName: string;
  try {
    linkName = cap.open(options.device, options.filter, options.bufferSize, buffer);
  } catch (err) {
    throw new CaptureError(
      `cannot capture on ${options.device} with filter "${options.filter}": ${(err as Error).message} (needs CAP_NET_RAW and CAP_NET_ADMIN)`,
    );
  }
  const linkType = LINK_TYPES[linkName];
  if (linkType === undefined) {
    cap.close();
    throw new CaptureError(`unsupported link type ${linkName} on ${options.device}`);
  }
  let received = 0;
  let truncated = 0;
  cap.on('packet', (nbytes, trunc) => {
    received++;
    if (trunc) truncated++;
    pipeline.handlePacket(linkType, buffer.subarray(0, nbytes), nowMs());
  });
  const kernel: KernelStats | undefined = openKernelStats(fdsBefore);
  let closed = false;
  const stats = (): CaptureStats => {
    const drops = kernel?.read();
    const known = drops !== undefined;
    if (known) pipeline.counters.kernelDrops = drops;
    return { received, kernelDrops: drops ?? 0, kernelDropsKnown: known, truncated };
  };
  return {
    linkType,
    stats,
    close() {
      if (closed) return;
      closed = true;
      // Last read before libpcap closes the socket (the counters live on it).
      stats();
      kernel?.close();
      // Stops libpcap's poll handle and closes the socket: without this the handle keeps
      // the event loop (and so the process) alive after everything else has stopped.
      cap.close();
    },
  };
}

/** Interfaces libpcap can open, with their addresses (for `--interface` help and checks). */
export function listDevices(): { name: string; addresses: string[] }[] {
  return loadCap()
    .Cap.deviceList()
    .map((d) => ({ name: d.name, addresses: d.addresses.map((a) => a.addr) }));
}
