/**
 * Who gets a sidecar, with which policy and in which mode. Pure functions of the pod, its
 * namespace, the policy cache and the settings; every "no" carries a reason that ends up
 * in the `observer.axom.ai/status` annotation and the admission metric.
 */
import type { V1Pod } from '@kubernetes/client-node';
import {
  ANNOTATION_INJECT,
  ANNOTATION_NATIVE_SIDECAR,
  ANNOTATION_POLICY,
  SIDECAR_CONTAINER_NAME,
} from '../lib/names.ts';
import type { LabelSelector, ObservationPolicy } from '../lib/policy/index.ts';
import type { AdmissionSettings, NamespaceInfo, NativeSidecarMode, PolicyLookup } from './types.ts';
import { NATIVE_SIDECAR_MODES } from './types.ts';

export type SkipReason =
  | 'not_requested'
  | 'opted_out'
  | 'excluded_namespace'
  | 'already_injected'
  | 'host_network'
  | 'pod_security';

/** The text after `skipped: ` in the status annotation. */
export const SKIP_MESSAGES: Readonly<Record<SkipReason, string>> = {
  not_requested: 'not requested',
  opted_out: 'opted out',
  excluded_namespace: 'namespace excluded',
  already_injected: 'already injected',
  host_network: 'hostNetwork pod (capture would watch the node)',
  pod_security: 'namespace Pod Security level forbids NET_RAW',
};

export const STATUS_INJECTED = 'injected';
export const statusSkipped = (reason: SkipReason): string => `skipped: ${SKIP_MESSAGES[reason]}`;

/** Pod Security Admission label; baseline and restricted both forbid NET_RAW. */
export const POD_SECURITY_ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
const PSA_FORBIDS_NET_RAW = new Set(['baseline', 'restricted']);

export type OptIn = 'in' | 'out' | 'unset';

function parseOptIn(value: string | undefined): OptIn {
  if (value === undefined) return 'unset';
  const v = value.trim().toLowerCase();
  if (v === 'true') return 'in';
  if (v === 'false') return 'out';
  return 'unset';
}

/** The pod's own annotation wins over its namespace's. */
export function optIn(pod: V1Pod, namespace: NamespaceInfo | undefined): OptIn {
  const own = parseOptIn(pod.metadata?.annotations?.[ANNOTATION_INJECT]);
  if (own !== 'unset') return own;
  return parseOptIn(namespace?.annotations[ANNOTATION_INJECT]);
}

/** Our container among `containers` or `initContainers` (native sidecar). */
export function hasSidecar(pod: V1Pod): boolean {
  const spec = pod.spec;
  if (!spec) return false;
  for (const c of spec.containers ?? []) if (c.name === SIDECAR_CONTAINER_NAME) return true;
  for (const c of spec.initContainers ?? []) if (c.name === SIDECAR_CONTAINER_NAME) return true;
  return false;
}

export function isExcludedNamespace(namespace: string, settings: AdmissionSettings): boolean {
  return namespace === settings.namespace || settings.excludedNamespaces.includes(namespace);
}

export type InjectionDecision = { inject: true } | { inject: false; reason: SkipReason };

/**
 * Opt-in is checked first: a pod nobody asked about is left exactly as it came, whatever
 * namespace it is in. The other checks only apply to pods that asked for a sidecar.
 */
export function decideInjection(
  pod: V1Pod,
  namespaceName: string,
  namespace: NamespaceInfo | undefined,
  settings: AdmissionSettings,
): InjectionDecision {
  const wanted = optIn(pod, namespace);
  if (wanted === 'unset') return { inject: false, reason: 'not_requested' };
  if (wanted === 'out') return { inject: false, reason: 'opted_out' };
  if (isExcludedNamespace(namespaceName, settings)) return { inject: false, reason: 'excluded_namespace' };
  if (hasSidecar(pod)) return { inject: false, reason: 'already_injected' };
  if (pod.spec?.hostNetwork === true) return { inject: false, reason: 'host_network' };
  const level = namespace?.labels[POD_SECURITY_ENFORCE_LABEL];
  if (level !== undefined && PSA_FORBIDS_NET_RAW.has(level)) return { inject: false, reason: 'pod_security' };
  return { inject: true };
}

// --- native sidecar -------------------------------------------------------------------------

/** Sidecar containers (KEP-753) are enabled by default from Kubernetes 1.29. */
export const NATIVE_SIDECAR_MIN_MINOR = 29;

function parseMode(value: string | undefined): NativeSidecarMode | undefined {
  const v = value?.trim().toLowerCase();
  return NATIVE_SIDECAR_MODES.find((m) => m === v);
}

/**
 * Pod annotation, then the policy's `spec.sidecar.nativeSidecar` (its default `auto`
 * defers to the operator), then the operator setting; `auto` asks the server version.
 */
export function nativeSidecarWanted(
  pod: V1Pod,
  policy: ObservationPolicy | undefined,
  settings: AdmissionSettings,
): boolean {
  const fromPod = parseMode(pod.metadata?.annotations?.[ANNOTATION_NATIVE_SIDECAR]);
  const fromPolicy = parseMode(policy?.spec?.sidecar?.nativeSidecar);
  let mode: NativeSidecarMode = settings.nativeSidecar;
  if (fromPolicy !== undefined && fromPolicy !== 'auto') mode = fromPolicy;
  if (fromPod !== undefined) mode = fromPod;
  if (mode !== 'auto') return mode === 'always';
  const v = settings.serverVersion;
  if (!v) return false;
  return v.major > 1 || (v.major === 1 && v.minor >= NATIVE_SIDECAR_MIN_MINOR);
}

// --- policy selection -------------------------------------------------------------------------

export function matchesSelector(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  // As the CRD documents (and config/examples/minimal.yaml relies on): no selector or an
  // empty one matches every opted-in pod of the policy's namespace.
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export interface PolicyChoice {
  policy: ObservationPolicy | undefined;
  /** Why no policy or which of several; shown in the status annotation / warnings. */
  note?: string;
  warnings: string[];
}

function created(p: ObservationPolicy): number {
  const t = p.metadata.creationTimestamp;
  if (t === undefined) return Number.POSITIVE_INFINITY;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** DESIGN.md: the named policy, else the oldest policy whose selector matches the pod. */
export function selectPolicy(pod: V1Pod, namespace: string, policies: PolicyLookup): PolicyChoice {
  const named = pod.metadata?.annotations?.[ANNOTATION_POLICY]?.trim();
  if (named) {
    const policy = policies.get(namespace, named);
    if (policy) return { policy, warnings: [] };
    const note = `policy ${JSON.stringify(named)} not found in namespace ${namespace}`;
    return {
      policy: undefined,
      note,
      warnings: [`axom-observer: ${note}; the sidecar uses its built-in defaults`],
    };
  }
  const labels = pod.metadata?.labels ?? {};
  const matching = policies.list(namespace).filter((p) => matchesSelector(p.spec?.selector, labels));
  if (matching.length === 0)
    return { policy: undefined, note: 'no matching ObservationPolicy', warnings: [] };
  matching.sort((a, b) => created(a) - created(b) || a.metadata.name.localeCompare(b.metadata.name));
  const policy = matching[0] as ObservationPolicy;
  if (matching.length === 1) return { policy, warnings: [] };
  const names = matching.map((p) => p.metadata.name).join(', ');
  return {
    policy,
    warnings: [
      `axom-observer: several ObservationPolicies match this pod (${names}); using the oldest, ${policy.metadata.name}`,
    ],
  };
}
