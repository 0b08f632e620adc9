import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSystemSignal, validateSignal } from '../signal/index.ts';
import { createSystemSampler, defaultProbe, gpusFromGraphics, type HostProbe, readCgroup } from './index.ts';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'axom-cgroup-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('cgroup v2: memory.current/max, cpu.max quota and cpu.stat usage', async (t) => {
  const root = await tempDir(t);
  await writeFile(join(root, 'memory.current'), '104857600\n');
  await writeFile(join(root, 'memory.max'), '536870912\n');
  await writeFile(join(root, 'cpu.max'), '50000 100000\n');
  await writeFile(join(root, 'cpu.stat'), 'usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n');
  assert.deepEqual(await readCgroup(root), {
    version: 2,
    memoryUsedBytes: 104857600,
    memoryLimitBytes: 536870912,
    cpuUsageUs: 123456,
    cpuQuotaCores: 0.5,
  });
  await writeFile(join(root, 'memory.max'), 'max\n');
  await writeFile(join(root, 'cpu.max'), 'max 100000\n');
  const unlimited = await readCgroup(root);
  assert.equal(unlimited?.memoryLimitBytes, undefined);
  assert.equal(unlimited?.cpuQuotaCores, undefined);
});

test('cgroup v1 controllers, with the v1 "unlimited" sentinel', async (t) => {
  const root = await tempDir(t);
  for (const d of ['memory', 'cpu', 'cpuacct']) await mkdir(join(root, d));
  await writeFile(join(root, 'memory', 'memory.usage_in_bytes'), '2048\n');
  await writeFile(join(root, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
  await writeFile(join(root, 'cpu', 'cpu.cfs_quota_us'), '200000\n');
  await writeFile(join(root, 'cpu', 'cpu.cfs_period_us'), '100000\n');
  await writeFile(join(root, 'cpuacct', 'cpuacct.usage'), '5000000\n');
  assert.deepEqual(await readCgroup(root), {
    version: 1,
    memoryUsedBytes: 2048,
    memoryLimitBytes: undefined,
    cpuQuotaCores: 2,
    cpuUsageUs: 5000,
  });
  assert.equal(await readCgroup(join(root, 'nothing-here')), undefined);
});

type FakeProbe = HostProbe & { clock: number; usage: number };
function fakeProbe(over: Partial<HostProbe> = {}): FakeProbe {
  const p: FakeProbe = {
    clock: 1_000_000,
    usage: 0,
    cgroup: async () => ({
      version: 2 as const,
      cpuUsageUs: p.usage,
      cpuQuotaCores: 2,
      memoryUsedBytes: 300,
      memoryLimitBytes: 1000,
    }),
    hostCpuPercent: async () => 12.5,
    hostMemory: async () => ({ usedBytes: 5, totalBytes: 10 }),
    hostCores: () => 8,
    hasNvidia: () => false,
    gpus: async () => [],
    nowMs: () => p.clock,
    ...over,
  };
  return p;
}

test('CPU percent of the cgroup quota from two readings; memory with its limit', async (t) => {
  const probe = fakeProbe();
  const sampler = createSystemSampler({ intervalMs: 60_000, gpu: true, onSample: () => {}, probe });
  t.after(() => sampler.stop());
  const first = await sampler.sample();
  assert.equal(first.cpu, undefined);
  probe.clock += 1000;
  probe.usage += 500_000; // half a core-second in one second on a 2-core quota: 25%
  const second = await sampler.sample();
  assert.deepEqual(second, { cpu: { percent: 25, cores: 2 }, memory: { usedBytes: 300, limitBytes: 1000 } });
  assert.ok(!('gpu' in second), 'no NVIDIA driver: no gpu field');
  const signal = buildSystemSignal(probe.clock, second, { pod: { name: 'p', namespace: 'n' } });
  assert.ok(validateSignal(JSON.parse(JSON.stringify(signal))).valid);
});

test('without a cgroup the host figures are used', async (t) => {
  const probe = fakeProbe({ cgroup: async () => undefined });
  const sampler = createSystemSampler({ intervalMs: 60_000, gpu: false, onSample: () => {}, probe });
  t.after(() => sampler.stop());
  assert.deepEqual(await sampler.sample(), {
    cpu: { percent: 12.5, cores: 8 },
    memory: { usedBytes: 5, limitBytes: 10 },
  });
});

test('NVIDIA GPUs from graphics data; a failing probe turns GPU sampling off once', async (t) => {
  const gpus = gpusFromGraphics({
    controllers: [
      { vendor: 'Intel Corporation', model: 'UHD', bus: 'PCI', vram: 0, vramDynamic: true },
      {
        vendor: 'NVIDIA Corporation',
        model: 'GH100',
        name: 'NVIDIA H100 80GB HBM3',
        bus: 'PCI',
        vram: 81559,
        vramDynamic: false,
        memoryTotal: 81559,
        memoryUsed: 1024,
        utilizationGpu: 37,
      },
      {
        vendor: 'NVIDIA Corporation',
        model: 'GH100',
        bus: 'PCI',
        vram: 81559,
        vramDynamic: false,
        memoryTotal: 81559,
        memoryUsed: 0,
      },
    ],
  });
  assert.deepEqual(gpus, [
    {
      index: 0,
      name: 'NVIDIA H100 80GB HBM3',
      utilizationPercent: 37,
      memoryUsedBytes: 1073741824,
      memoryTotalBytes: 85520809984,
    },
    { index: 1, name: 'GH100', utilizationPercent: 0, memoryUsedBytes: 0, memoryTotalBytes: 85520809984 },
  ]);
  let calls = 0;
  const probe = fakeProbe({
    hasNvidia: () => true,
    gpus: async () => {
      calls++;
      if (calls > 1) throw new Error('nvidia-smi: not found');
      return gpus;
    },
  });
  const sampler = createSystemSampler({ intervalMs: 60_000, gpu: true, onSample: () => {}, probe });
  t.after(() => sampler.stop());
  // The constructor's baseline sample used the first call.
  await new Promise((r) => setImmediate(r));
  await sampler.sample();
  const after = await sampler.sample();
  assert.equal(after.gpu, undefined);
  assert.equal(calls, 2);
});

test('the real host probe answers on this machine (cgroup or host figures)', async (t) => {
  const probe = defaultProbe();
  const sampler = createSystemSampler({ intervalMs: 60_000, gpu: true, onSample: () => {}, probe });
  t.after(() => sampler.stop());
  await sampler.sample();
  const s = await sampler.sample();
  assert.ok(s.memory !== undefined && s.memory.usedBytes > 0, JSON.stringify(s));
  assert.ok(s.cpu !== undefined && s.cpu.percent >= 0, JSON.stringify(s));
  const signal = buildSystemSignal(Date.now(), s);
  const check = validateSignal(JSON.parse(JSON.stringify(signal)));
  assert.ok(check.valid, check.errors.join('\n'));
});
