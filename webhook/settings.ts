import { UsageError } from '../lib/errors.ts';
import { parseQuantity } from './mutators/sidecar.ts';
import type { AdmissionSettings, SidecarResources } from './types.ts';

/**
 * Requests sized for a capture of a single agent pod's traffic; the memory limit leaves
 * room for the reassembly buffers the rules allow by default (capture.totalBufferBytes) and
 * the 64 MiB capture ring (capture.bufferSizeMiB) beside the heap.
 */
export const DEFAULT_SIDECAR_RESOURCES: SidecarResources = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '384Mi' },
};

/** Namespaces no pod of which is ever injected, whatever their annotations say. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export function defaultAdmissionSettings(overrides: Partial<AdmissionSettings> = {}): AdmissionSettings {
  return {
    namespace: 'axom-system',
    sidecarImage: 'ghcr.io/axom-ai/axom-observer:latest',
    sidecarImagePullPolicy: 'IfNotPresent',
    sidecarResources: DEFAULT_SIDECAR_RESOURCES,
    nativeSidecar: 'auto',
    excludedNamespaces: SYSTEM_NAMESPACES,
    ...overrides,
  };
}

/** Why `text` is not a Kubernetes quantity the sidecar settings accept, or undefined if it is. */
export function quantityProblem(text: string): string | undefined {
  if (text === '' || parseQuantity(text) !== undefined) return undefined;
  return `expected a Kubernetes quantity such as 100m, 0.5 or 128Mi (or empty to leave it out), got ${JSON.stringify(text)}`;
}

/** The operator's sidecar resource flags; an empty string leaves that quantity out. */
export interface SidecarResourceQuantities {
  cpuRequest: string;
  memoryRequest: string;
  cpuLimit: string;
  memoryLimit: string;
}

/**
 * Default sidecar resources from the operator's flags. A limit below its request would make
 * the API server refuse every injected pod, so it is refused here, at start-up, instead.
 */
export function sidecarResourcesFrom(q: SidecarResourceQuantities): SidecarResources {
  const pick = (cpu: string, memory: string) => {
    const out: { cpu?: string; memory?: string } = {};
    if (cpu !== '') out.cpu = cpu;
    if (memory !== '') out.memory = memory;
    return Object.keys(out).length > 0 ? out : undefined;
  };
  for (const [what, value] of Object.entries(q)) {
    const problem = quantityProblem(value);
    if (problem) throw new UsageError(`sidecar ${what}: ${problem}`);
  }
  for (const [key, request, limit] of [
    ['cpu', q.cpuRequest, q.cpuLimit],
    ['memory', q.memoryRequest, q.memoryLimit],
  ] as const) {
    if (request === '' || limit === '') continue;
    if ((parseQuantity(limit) ?? 0) < (parseQuantity(request) ?? 0))
      throw new UsageError(`sidecar ${key} limit ${limit} is below its request ${request}`);
  }
  const requests = pick(q.cpuRequest, q.memoryRequest);
  const limits = pick(q.cpuLimit, q.memoryLimit);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}
