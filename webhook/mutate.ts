/**
 * `/mutate-v1-pod`: decide, mutate, diff. Everything here is synchronous and reads only
 * the informer caches, so an admission costs no API call and its time is bounded by the
 * size of the pod (the body limit bounds that).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { AdmissionRequestError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { ANNOTATION_STATUS } from '../lib/names.ts';
import { diff } from './jsonpatch.ts';
import { injectSidecar } from './mutators/index.ts';
import {
  decideInjection,
  nativeSidecarWanted,
  type SkipReason,
  STATUS_INJECTED,
  selectPolicy,
  statusSkipped,
} from './predicates.ts';
import { type AdmissionRequest, type AdmissionResponse, allow } from './review.ts';
import type { AdmissionSettings, MutationInput, NamespaceLookup, PolicyLookup } from './types.ts';

export type MutateResult = 'injected' | SkipReason | 'ignored_operation' | 'error';

export interface MutateDeps {
  settings: AdmissionSettings;
  policies: PolicyLookup;
  namespaces: NamespaceLookup;
  log: Logger;
}

export interface PodAdmission {
  response: AdmissionResponse;
  result: MutateResult;
}

/** The mutated pod and its result, before it is turned into a patch (tests use this). */
export interface PodMutation {
  pod: V1Pod;
  result: MutateResult;
  warnings: string[];
  /** The policy used, if any. */
  policy?: string;
}

/** Skip reasons that leave the pod exactly as it came (no status annotation). */
const SILENT_SKIPS: ReadonlySet<SkipReason> = new Set(['not_requested']);

function withStatus(pod: V1Pod, status: string): V1Pod {
  const annotations = { ...(pod.metadata?.annotations ?? {}), [ANNOTATION_STATUS]: status };
  return { ...pod, metadata: { ...(pod.metadata ?? {}), annotations } };
}

/** Pure: the pod as it should be stored. Throws only on a bug; the caller turns that into allow. */
export function mutatePod(pod: V1Pod, namespaceName: string, deps: Omit<MutateDeps, 'log'>): PodMutation {
  const namespace = deps.namespaces.get(namespaceName);
  const decision = decideInjection(pod, namespaceName, namespace, deps.settings);
  if (!decision.inject) {
    const reason = decision.reason;
    if (SILENT_SKIPS.has(reason)) return { pod, result: reason, warnings: [] };
    const current = pod.metadata?.annotations?.[ANNOTATION_STATUS];
    // Reinvocation or a re-created copy of an injected pod: what it says already is right.
    if (reason === 'already_injected' && current?.startsWith(STATUS_INJECTED))
      return { pod, result: reason, warnings: [] };
    return { pod: withStatus(pod, statusSkipped(reason)), result: reason, warnings: [] };
  }
  const choice = selectPolicy(pod, namespaceName, deps.policies);
  const input: MutationInput = {
    namespace,
    policy: choice.policy,
    settings: deps.settings,
    nativeSidecar: nativeSidecarWanted(pod, choice.policy, deps.settings),
    policyNote: choice.note,
  };
  const { pod: mutated, warnings } = injectSidecar(pod, input);
  return {
    pod: mutated,
    result: 'injected',
    warnings: [...choice.warnings, ...warnings],
    policy: choice.policy?.metadata.name,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkContainers(list: unknown, field: string): void {
  if (list === undefined && field === 'initContainers') return;
  if (!Array.isArray(list)) throw new AdmissionRequestError(`request.object.spec.${field} must be a list`);
  list.forEach((c, i) => {
    if (!isRecord(c) || typeof c.name !== 'string') {
      throw new AdmissionRequestError(`request.object.spec.${field}[${i}].name is missing`);
    }
  });
}

/** The fields the mutators rely on; a request without them is answered 400. */
export function assertPodShape(object: Record<string, unknown>): void {
  if (object.metadata !== undefined && !isRecord(object.metadata)) {
    throw new AdmissionRequestError('request.object.metadata must be an object');
  }
  const spec = object.spec;
  if (!isRecord(spec)) throw new AdmissionRequestError('request.object.spec is missing');
  checkContainers(spec.containers, 'containers');
  checkContainers(spec.initContainers, 'initContainers');
}

export function admitPod(req: AdmissionRequest, deps: MutateDeps): PodAdmission {
  // Only CREATE is registered; anything else that arrives is let through untouched.
  if (req.operation !== 'CREATE') return { response: allow(req.uid), result: 'ignored_operation' };
  assertPodShape(req.object);
  const pod = req.object as V1Pod;
  const namespaceName = req.namespace || pod.metadata?.namespace || 'default';
  try {
    const m = mutatePod(pod, namespaceName, deps);
    const patch = m.pod === pod ? [] : diff(pod, m.pod);
    if (m.result === 'injected' && deps.log.isLevelEnabled('debug')) {
      deps.log.debug(
        {
          uid: req.uid,
          namespace: namespaceName,
          pod: pod.metadata?.name ?? pod.metadata?.generateName,
          policy: m.policy,
          dryRun: req.dryRun,
        },
        'sidecar injected',
      );
    }
    return { response: allow(req.uid, patch, m.warnings), result: m.result };
  } catch (err) {
    // Never block a pod: a bug in the mutation must not stop a workload from starting, so
    // the pod is admitted unchanged, the user sees a warning and the error is logged and
    // counted (result="error"). The operator's uninjected-pods gauge picks it up as well.
    deps.log.error(
      { err, uid: req.uid, namespace: namespaceName },
      'mutation failed; pod admitted without sidecar',
    );
    return {
      response: allow(req.uid, undefined, [
        'axom-observer: sidecar injection failed with an internal error; the pod was admitted without it',
      ]),
      result: 'error',
    };
  }
}
