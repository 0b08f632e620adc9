/** System samples: CPU and memory of the pod's cgroup (or the host), NVIDIA GPUs when present. */

export type { CgroupReading } from './cgroup.ts';
export { readCgroup } from './cgroup.ts';
export type { HostProbe, SystemSample, SystemSampler, SystemSamplerOptions } from './sampler.ts';
export { createSystemSampler, defaultProbe, gpusFromGraphics } from './sampler.ts';
