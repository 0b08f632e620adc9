/**
 * The objects a policy renders, and the comparisons that decide whether writing is needed.
 * Comparisons look only at what the controller owns (data, its labels and annotations, its
 * owner reference), so fields the API server or other tools add never cause a write.
 */
import {
  ANNOTATION_CONFIG_HASH,
  API_GROUP_VERSION,
  API_KEY_SECRET_KEY,
  apiKeySecretName,
  POLICY_KIND,
  RULES_CONFIGMAP_KEY,
  rulesConfigMapName,
} from '../../lib/names.ts';
import type { ObservationPolicy } from '../../lib/policy/types.ts';
import type { ConfigMap, KubeObject, OwnerReference, Secret } from '../kube/types.ts';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'axom-observer';
/** Selector of everything the controller renders. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
/** Label naming the policy an object was rendered from (same key as the pod annotation). */
export const POLICY_LABEL = 'observer.axom.ai/policy';
/** Where a rendered Secret's key came from (`<namespace>/<name>#<key>`), never the key itself. */
export const ANNOTATION_API_KEY_SOURCE = 'observer.axom.ai/api-key-source';

export function ownerReference(policy: ObservationPolicy): OwnerReference {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: POLICY_KIND,
    name: policy.metadata.name,
    uid: policy.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function labels(policy: ObservationPolicy): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [POLICY_LABEL]: policy.metadata.name };
}

export function desiredConfigMap(policy: ObservationPolicy, rulesText: string, hash: string): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: rulesConfigMapName(policy.metadata.name),
      namespace: policy.metadata.namespace,
      labels: labels(policy),
      annotations: { [ANNOTATION_CONFIG_HASH]: hash },
      ownerReferences: [ownerReference(policy)],
    },
    data: { [RULES_CONFIGMAP_KEY]: rulesText },
  };
}

/** `keyBase64` is the key exactly as stored in the source Secret's data. */
export function desiredSecret(policy: ObservationPolicy, keyBase64: string, source: string): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: apiKeySecretName(policy.metadata.name),
      namespace: policy.metadata.namespace,
      labels: labels(policy),
      annotations: { [ANNOTATION_API_KEY_SOURCE]: source },
      ownerReferences: [ownerReference(policy)],
    },
    data: { [API_KEY_SECRET_KEY]: keyBase64 },
  };
}

function includes(
  actual: Record<string, string> | undefined,
  wanted: Record<string, string> | undefined,
): boolean {
  if (!wanted) return true;
  for (const [k, v] of Object.entries(wanted)) if (actual?.[k] !== v) return false;
  return true;
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  const bk = Object.keys(b ?? {});
  return ak.length === bk.length && includes(a, b);
}

function hasOwner(obj: KubeObject, ref: OwnerReference): boolean {
  return (obj.metadata.ownerReferences ?? []).some(
    (o) => o.uid === ref.uid && o.kind === ref.kind && o.controller === true && o.blockOwnerDeletion === true,
  );
}

/** Differences between a live object and what the controller wants; empty = nothing to write. */
export function diffRendered(live: ConfigMap | Secret, desired: ConfigMap | Secret): string[] {
  const out: string[] = [];
  if (!sameMap(live.data, desired.data)) out.push('data');
  if (!includes(live.metadata.labels, desired.metadata.labels)) out.push('labels');
  if (!includes(live.metadata.annotations, desired.metadata.annotations)) out.push('annotations');
  const ref = desired.metadata.ownerReferences?.[0];
  if (ref && !hasOwner(live, ref)) out.push('ownerReferences');
  if ('type' in desired && desired.type && (live as Secret).type !== desired.type) out.push('type');
  return out;
}

/**
 * The live object with the desired state applied, for a PUT: keeps its resourceVersion
 * (so a concurrent write is a Conflict, not lost), other tools' labels and annotations,
 * and owner references to anything else; replaces any other controller reference.
 */
export function applyDesired<T extends ConfigMap | Secret>(live: T, desired: T): T {
  const ref = desired.metadata.ownerReferences?.[0];
  const others = (live.metadata.ownerReferences ?? []).filter((o) => !o.controller && o.uid !== ref?.uid);
  return {
    ...live,
    apiVersion: desired.apiVersion,
    kind: desired.kind,
    metadata: {
      ...live.metadata,
      labels: { ...live.metadata.labels, ...desired.metadata.labels },
      annotations: { ...live.metadata.annotations, ...desired.metadata.annotations },
      ownerReferences: ref ? [...others, ref] : others,
    },
    data: desired.data,
  };
}

/** True when the controller may take over `live`: it carries our managed-by label. */
export function isManaged(live: KubeObject): boolean {
  return live.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** The policy key (`namespace/name`) a rendered object belongs to, from its controller reference. */
export function ownerKey(obj: KubeObject): string | undefined {
  const ref = obj.metadata.ownerReferences?.find((o) => o.controller && o.kind === POLICY_KIND);
  return ref ? `${obj.metadata.namespace}/${ref.name}` : undefined;
}
