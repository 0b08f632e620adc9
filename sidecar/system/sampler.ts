/**
 * System samples every N seconds: CPU and memory of the pod's cgroup where readable (its
 * limits are what matter to the agent), otherwise the host's via systeminformation; and
 * NVIDIA GPUs via systeminformation's graphics data, only when the NVIDIA driver is there
 * (no driver: no GPU field, no probing of PCI buses, no warnings).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import si from 'systeminformation';
import { type Logger, silentLogger } from '../../lib/log.ts';
import type { GpuSample, SystemSignal } from '../signal/types.ts';
import { type CgroupReading, readCgroup } from './cgroup.ts';

export type SystemSample = Pick<SystemSignal, 'cpu' | 'memory' | 'gpu'>;

/** What the sampler asks the host for; replaceable in tests. */
export interface HostProbe {
  cgroup(): Promise<CgroupReading | undefined>;
  hostCpuPercent(): Promise<number | undefined>;
  hostMemory(): Promise<{ usedBytes: number; totalBytes: number } | undefined>;
  hostCores(): number;
  /** NVIDIA driver present? Checked once. */
  hasNvidia(): boolean;
  gpus(): Promise<GpuSample[]>;
  nowMs(): number;
}

const MIB = 1024 * 1024;

export function defaultProbe(cgroupRoot = '/sys/fs/cgroup'): HostProbe {
  return {
    cgroup: () => readCgroup(cgroupRoot),
    hostCpuPercent: async () => (await si.currentLoad()).currentLoad,
    hostMemory: async () => {
      const m = await si.mem();
      // "active" excludes reclaimable page cache, which is what "used" means to a person.
      return { usedBytes: m.active, totalBytes: m.total };
    },
    hostCores: () => availableParallelism(),
    hasNvidia: () => existsSync('/proc/driver/nvidia/version') || existsSync('/dev/nvidiactl'),
    gpus: async () => gpusFromGraphics(await si.graphics()),
    nowMs: () => performance.timeOrigin + performance.now(),
  };
}

/** NVIDIA controllers from systeminformation's graphics data (memory figures are MiB). */
export function gpusFromGraphics(data: {
  controllers: si.Systeminformation.GraphicsControllerData[];
}): GpuSample[] {
  const out: GpuSample[] = [];
  for (const c of data.controllers) {
    if (!/nvidia/i.test(`${c.vendor} ${c.model} ${c.name ?? ''}`)) continue;
    const g: GpuSample = { index: out.length };
    const name = c.name ?? c.model;
    if (name) g.name = name;
    // systeminformation copies nvidia-smi's utilization only when truthy: when the memory
    // figures arrived (nvidia-smi answered) an absent utilization is an idle GPU.
    if (c.utilizationGpu !== undefined) g.utilizationPercent = c.utilizationGpu;
    else if (c.memoryTotal !== undefined) g.utilizationPercent = 0;
    if (c.memoryUsed !== undefined) g.memoryUsedBytes = Math.round(c.memoryUsed * MIB);
    if (c.memoryTotal !== undefined) g.memoryTotalBytes = Math.round(c.memoryTotal * MIB);
    out.push(g);
  }
  return out;
}

export interface SystemSamplerOptions {
  intervalMs: number;
  gpu: boolean;
  onSample(sample: SystemSample, atMs: number): void;
  log?: Logger;
  probe?: HostProbe;
}

export interface SystemSampler {
  /** One sample now (the first has no CPU figure from the cgroup: it needs two readings). */
  sample(): Promise<SystemSample>;
  stop(): void;
}

export function createSystemSampler(options: SystemSamplerOptions): SystemSampler {
  const probe = options.probe ?? defaultProbe();
  const log = options.log ?? silentLogger;
  const nvidia = options.gpu && probe.hasNvidia();
  let last: { usageUs: number; atMs: number } | undefined;
  let gpuFailed = false;
  let busy = false;

  async function sample(): Promise<SystemSample> {
    const out: SystemSample = {};
    const cg = await probe.cgroup().catch(() => undefined);
    const now = probe.nowMs();
    const cores = cg?.cpuQuotaCores ?? probe.hostCores();
    if (cg?.cpuUsageUs !== undefined) {
      if (last !== undefined && now > last.atMs) {
        const usedUs = cg.cpuUsageUs - last.usageUs;
        const percent = (usedUs / ((now - last.atMs) * 1000 * cores)) * 100;
        out.cpu = { percent: Math.max(0, Math.round(percent * 100) / 100), cores };
      }
      last = { usageUs: cg.cpuUsageUs, atMs: now };
    } else {
      const percent = await probe.hostCpuPercent().catch(() => undefined);
      if (percent !== undefined) out.cpu = { percent: Math.round(percent * 100) / 100, cores };
    }
    if (cg?.memoryUsedBytes !== undefined) {
      const limit = cg.memoryLimitBytes ?? (await probe.hostMemory().catch(() => undefined))?.totalBytes;
      out.memory =
        limit !== undefined
          ? { usedBytes: cg.memoryUsedBytes, limitBytes: limit }
          : { usedBytes: cg.memoryUsedBytes };
    } else {
      const m = await probe.hostMemory().catch(() => undefined);
      if (m !== undefined) out.memory = { usedBytes: m.usedBytes, limitBytes: m.totalBytes };
    }
    if (nvidia && !gpuFailed) {
      try {
        const gpus = await probe.gpus();
        if (gpus.length > 0) out.gpu = gpus;
      } catch (err) {
        // Once: a driver without a working nvidia-smi should not log every interval.
        gpuFailed = true;
        log.warn({ err: (err as Error).message }, 'cannot read NVIDIA GPUs; GPU sampling off');
      }
    }
    return out;
  }

  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    sample()
      .then((s) => options.onSample(s, probe.nowMs()))
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'system sample failed'))
      .finally(() => {
        busy = false;
      });
  }, options.intervalMs);
  timer.unref();
  // Baseline for the cgroup CPU delta, so the first interval already reports CPU.
  void sample().catch(() => undefined);

  return { sample, stop: () => clearInterval(timer) };
}
