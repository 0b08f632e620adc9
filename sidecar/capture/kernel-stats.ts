/**
 * Kernel drop counts for live capture. libpcap keeps them on its packet socket; `cap`
 * does not expose pcap_stats, so we find the packet socket(s) libpcap opened (the
 * process's socket fds whose inode is listed in /proc/net/packet) and read
 * PACKET_STATISTICS through a tiny addon (native/packet_stats.c, built by
 * native/build.sh). Without the addon, drops are reported as unknown, never as zero.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packagePath } from '../../lib/package-root.ts';

interface Addon {
  read(fd: number): [number, number];
}

/** Where native/build.sh puts the addon, from the package root (the same from source and dist/). */
export const ADDON_PATH = 'sidecar/capture/native/build/Release/packet_stats.node';

let addon: Addon | null | undefined;

function loadAddon(): Addon | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(packagePath(ADDON_PATH)) as Addon;
    } catch {
      addon = null;
    }
  }
  return addon;
}

/** True when kernel drop counts can be read (Linux with the addon built). */
export function kernelStatsAvailable(): boolean {
  return loadAddon() !== null;
}

/** The process's socket fds and their inodes. */
export function socketFds(): Map<number, string> {
  const out = new Map<number, string>();
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const f of fds) {
    try {
      const target = readlinkSync(`/proc/self/fd/${f}`);
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) out.set(Number(f), m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

function packetSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  try {
    const lines = readFileSync('/proc/net/packet', 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      const inode = cols[cols.length - 1];
      if (inode) inodes.add(inode);
    }
  } catch {
    // not Linux
  }
  return inodes;
}

export interface KernelStats {
  /** Total drops since the capture opened, or undefined when they cannot be read. */
  read(): number | undefined;
  close(): void;
}

/**
 * Watches the packet sockets that appeared since `before` (a socketFds() snapshot taken
 * just before the capture opened).
 */
export function openKernelStats(before: Map<number, string>): KernelStats | undefined {
  const lib = loadAddon();
  if (!lib) return undefined;
  const packet = packetSocketInodes();
  const fds = [...socketFds()]
    .filter(([fd, inode]) => before.get(fd) !== inode && packet.has(inode))
    .map(([fd]) => fd);
  if (fds.length === 0) return undefined;
  let drops = 0;
  let open = true;
  return {
    read() {
      if (!open) return drops;
      try {
        for (const fd of fds) drops += lib.read(fd)[1];
        return drops;
      } catch {
        return undefined;
      }
    },
    close() {
      open = false;
    },
  };
}
