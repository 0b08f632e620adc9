/**
 * What we stamp on an injected pod: `status` (with a note when the sidecar runs on its
 * built-in defaults), the policy used, and `config-hash`, a digest of everything injected
 * (the sidecar container, our volumes and the policy spec) so that tools can tell which
 * pods run an outdated sidecar configuration. The hash covers no secret: the policy spec
 * only ever names the Secret the API key lives in.
 */
import { createHash } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATION_CONFIG_HASH, ANNOTATION_POLICY, ANNOTATION_STATUS } from '../../lib/names.ts';
import type { ObservationPolicy } from '../../lib/policy/index.ts';
import { STATUS_INJECTED } from '../predicates.ts';
import type { MutationInput, Mutator } from '../types.ts';
import { findSidecar } from './pod.ts';
import { KEYLOG_VOLUME } from './tls-keylog.ts';
import { RULES_VOLUME, SECRET_VOLUME } from './volumes.ts';

const OUR_VOLUMES = new Set([RULES_VOLUME, SECRET_VOLUME, KEYLOG_VOLUME]);

/** JSON with sorted keys, so equal configurations hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

// Informer caches replace a policy object on every change, so identity is a safe cache key.
const specJsonCache = new WeakMap<ObservationPolicy, string>();
function policySpecJson(policy: ObservationPolicy | undefined): string {
  if (!policy) return 'null';
  let json = specJsonCache.get(policy);
  if (json === undefined) {
    json = canonicalJson(policy.spec ?? null);
    specJsonCache.set(policy, json);
  }
  return json;
}

export function configHash(pod: V1Pod, policy: ObservationPolicy | undefined): string {
  const h = createHash('sha256');
  // The container and volumes are built by our mutators in a fixed key order, so plain
  // JSON is already canonical for them; only the user-written policy spec needs sorting.
  h.update(JSON.stringify(findSidecar(pod) ?? null));
  h.update('\n');
  h.update(JSON.stringify((pod.spec?.volumes ?? []).filter((v) => OUR_VOLUMES.has(v.name))));
  h.update('\n');
  h.update(policySpecJson(policy));
  return h.digest('hex').slice(0, 16);
}

export function injectedStatus(input: MutationInput): string {
  if (input.policy) return STATUS_INJECTED;
  return `${STATUS_INJECTED}: built-in defaults (${input.policyNote ?? 'no matching ObservationPolicy'})`;
}

export const addAnnotations: Mutator = (pod, input) => {
  const annotations: Record<string, string> = { ...(pod.metadata?.annotations ?? {}) };
  annotations[ANNOTATION_STATUS] = injectedStatus(input);
  if (input.policy) annotations[ANNOTATION_POLICY] = input.policy.metadata.name;
  annotations[ANNOTATION_CONFIG_HASH] = configHash(pod, input.policy);
  return { pod: { ...pod, metadata: { ...(pod.metadata ?? {}), annotations } }, warnings: [] };
};
