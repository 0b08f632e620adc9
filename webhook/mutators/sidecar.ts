/**
 * The `axom-observer` container itself: image, resources, security context and probes,
 * placed as a native sidecar (first init container, `restartPolicy: Always`) or as a
 * regular container.
 *
 * Security context, and why it runs as root: capture opens an AF_PACKET socket, which
 * needs CAP_NET_RAW in the effective set. Kubernetes has no ambient capabilities, so a
 * non-root process only gets an added capability through file capabilities on the
 * binary, and those are ignored under no_new_privs (allowPrivilegeEscalation: false).
 * We keep no_new_privs and run as UID 0 with every capability dropped except NET_RAW,
 * a read-only root filesystem and the RuntimeDefault seccomp profile. NET_ADMIN is not
 * added: promiscuous mode is not needed because the sidecar shares the pod's network
 * namespace and only watches the pod's own traffic.
 */
import type { V1Container, V1Probe, V1ResourceRequirements } from '@kubernetes/client-node';
import { SIDECAR_CONTAINER_NAME, SIDECAR_PATHS, SIDECAR_PORT } from '../../lib/names.ts';
import type { MutationInput, Mutator, ResourceQuantities, SidecarResources } from '../types.ts';
import { withSpec } from './pod.ts';

export const SIDECAR_PORT_NAME = 'axom-metrics';

const probe = (path: string, periodSeconds: number, failureThreshold: number): V1Probe => ({
  httpGet: { path, port: SIDECAR_PORT, scheme: 'HTTP' },
  periodSeconds,
  timeoutSeconds: 2,
  failureThreshold,
});

// --- resources ------------------------------------------------------------------------------

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};
const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** A Kubernetes quantity as a number (`500m` → 0.5, `64Mi` → 67108864); undefined if unsupported. */
export function parseQuantity(q: string): number | undefined {
  const m = QUANTITY.exec(q.trim());
  if (!m) return undefined;
  return Number(m[1]) * (SUFFIX[m[2] ?? ''] ?? 1);
}

function quantities(
  list: { cpu?: string | number; memory?: string | number } | undefined,
): ResourceQuantities | undefined {
  if (!list) return undefined;
  const out: ResourceQuantities = {};
  if (list.cpu !== undefined) out.cpu = String(list.cpu);
  if (list.memory !== undefined) out.memory = String(list.memory);
  return out;
}

/**
 * Policy values win per section (requests, limits). A limit below its request would make
 * the API server reject the pod, so such a limit is dropped with a warning instead: the
 * sidecar must never be the reason a pod is refused.
 */
export function sidecarResources(input: MutationInput): {
  resources: V1ResourceRequirements;
  warnings: string[];
} {
  const fromPolicy = input.policy?.spec?.sidecar?.resources;
  const base: SidecarResources = input.settings.sidecarResources;
  const requests = { ...(quantities(fromPolicy?.requests) ?? base.requests ?? {}) };
  const limits = { ...(quantities(fromPolicy?.limits) ?? base.limits ?? {}) };
  const warnings: string[] = [];
  for (const key of ['cpu', 'memory'] as const) {
    const r = requests[key];
    const l = limits[key];
    if (r === undefined || l === undefined) continue;
    const rv = parseQuantity(r);
    const lv = parseQuantity(l);
    if (rv !== undefined && lv !== undefined && lv < rv) {
      delete limits[key];
      warnings.push(
        `axom-observer: sidecar ${key} limit ${l} is below its request ${r}; the limit was left out`,
      );
    }
  }
  const resources: V1ResourceRequirements = {};
  if (Object.keys(requests).length > 0) resources.requests = requests;
  if (Object.keys(limits).length > 0) resources.limits = limits;
  return { resources, warnings };
}

// --- container --------------------------------------------------------------------------------

export function buildSidecarContainer(input: MutationInput): { container: V1Container; warnings: string[] } {
  const sidecar = input.policy?.spec?.sidecar;
  const { resources, warnings } = sidecarResources(input);
  const container: V1Container = {
    name: SIDECAR_CONTAINER_NAME,
    image: sidecar?.image ?? input.settings.sidecarImage,
    imagePullPolicy: sidecar?.imagePullPolicy ?? input.settings.sidecarImagePullPolicy,
    args: ['sidecar'],
    ports: [{ name: SIDECAR_PORT_NAME, containerPort: SIDECAR_PORT, protocol: 'TCP' }],
    resources,
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'], add: ['NET_RAW'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    // The startup probe bounds how long a native sidecar holds back the app containers.
    startupProbe: probe(SIDECAR_PATHS.healthz, 1, 30),
    livenessProbe: probe(SIDECAR_PATHS.healthz, 10, 3),
    readinessProbe: probe(SIDECAR_PATHS.readyz, 5, 3),
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  if (input.nativeSidecar) container.restartPolicy = 'Always';
  return { container, warnings };
}

/** A port 2112 already used by an app container would collide in the shared network namespace. */
function portClashWarnings(containers: readonly V1Container[]): string[] {
  const out: string[] = [];
  for (const c of containers) {
    if (c.ports?.some((p) => p.containerPort === SIDECAR_PORT && (p.protocol ?? 'TCP') === 'TCP')) {
      out.push(
        `axom-observer: container ${c.name} declares port ${SIDECAR_PORT}, which the observer sidecar also listens on`,
      );
    }
  }
  return out;
}

/**
 * Native: first init container, so it captures from the first packet of every later init
 * and app container and does not keep a Job alive. Regular: appended to `containers`.
 */
export const addSidecarContainer: Mutator = (pod, input) => {
  const { container, warnings } = buildSidecarContainer(input);
  warnings.push(...portClashWarnings([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]));
  const mutated = withSpec(pod, (spec) =>
    input.nativeSidecar
      ? { ...spec, initContainers: [container, ...(spec.initContainers ?? [])] }
      : { ...spec, containers: [...spec.containers, container] },
  );
  return { pod: mutated, warnings };
};
