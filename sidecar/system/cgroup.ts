/**
 * CPU and memory of the pod's own cgroup: what the container may use (its limits) rather
 * than the node's totals. cgroup v2 first (memory.current, memory.max, cpu.max, cpu.stat),
 * then cgroup v1's controllers; undefined when neither is readable, and the caller falls
 * back to the host's figures.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CgroupReading {
  version: 1 | 2;
  /** Total CPU time used by the cgroup, microseconds. */
  cpuUsageUs?: number;
  /** Cores the quota allows (quota / period), undefined when unlimited. */
  cpuQuotaCores?: number;
  memoryUsedBytes?: number;
  /** undefined when unlimited. */
  memoryLimitBytes?: number;
}

async function read(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

function num(text: string | undefined): number | undefined {
  if (text === undefined || text === '' || text === 'max') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages): treat as unlimited. */
const V1_UNLIMITED = 2 ** 60;

export async function readCgroup(root = '/sys/fs/cgroup'): Promise<CgroupReading | undefined> {
  const [current, max, cpuMax, cpuStat] = await Promise.all([
    read(join(root, 'memory.current')),
    read(join(root, 'memory.max')),
    read(join(root, 'cpu.max')),
    read(join(root, 'cpu.stat')),
  ]);
  if (current !== undefined || cpuStat !== undefined) {
    const out: CgroupReading = { version: 2 };
    out.memoryUsedBytes = num(current);
    out.memoryLimitBytes = num(max);
    const usage = /^usage_usec (\d+)$/m.exec(cpuStat ?? '');
    if (usage) out.cpuUsageUs = Number(usage[1]);
    const [quota, period] = (cpuMax ?? '').split(/\s+/);
    const q = num(quota);
    const p = num(period);
    if (q !== undefined && p !== undefined && p > 0) out.cpuQuotaCores = q / p;
    return out;
  }
  const [v1Used, v1Limit, v1Quota, v1Period, v1Usage] = await Promise.all([
    read(join(root, 'memory', 'memory.usage_in_bytes')),
    read(join(root, 'memory', 'memory.limit_in_bytes')),
    read(join(root, 'cpu', 'cpu.cfs_quota_us')),
    read(join(root, 'cpu', 'cpu.cfs_period_us')),
    read(join(root, 'cpuacct', 'cpuacct.usage')),
  ]);
  if (v1Used === undefined && v1Usage === undefined) return undefined;
  const limit = num(v1Limit);
  const quota = num(v1Quota);
  const period = num(v1Period);
  const usageNs = num(v1Usage);
  return {
    version: 1,
    memoryUsedBytes: num(v1Used),
    memoryLimitBytes: limit !== undefined && limit < V1_UNLIMITED ? limit : undefined,
    cpuQuotaCores:
      quota !== undefined && quota > 0 && period !== undefined && period > 0 ? quota / period : undefined,
    cpuUsageUs: usageNs !== undefined ? usageNs / 1000 : undefined,
  };
}
