/**
 * Fail-open compensation. The mutating webhook fails open (a pod is never blocked because
 * the operator is down), so pods created meanwhile run without the sidecar they asked for.
 * This finds them: an Event on each, and the gauge axom_operator_uninjected_pods.
 *
 * A pod asked when its own inject annotation is "true", or it has none and its namespace's
 * is "true" (the pod's own annotation wins, as in the webhook).
 */
import { ANNOTATION_INJECT, ANNOTATION_STATUS, SIDECAR_CONTAINER_NAME } from '../../lib/names.ts';
import type { Informer } from '../kube/informer.ts';
import type { KubeObject, Pod } from '../kube/types.ts';
import type { EventSink } from './events.ts';

export type UninjectedReason = 'webhook_missed' | 'skipped';

export interface UninjectedOptions {
  pods: Informer<Pod>;
  namespaces: Informer<KubeObject>;
  events: EventSink;
  excludedNamespaces: ReadonlySet<string>;
  /** Called with the new counts whenever they change. */
  onCounts: (counts: Record<UninjectedReason, number>) => void;
}

/** What the tracker needs of a pod; the informer keeps only this (memory). */
export function slimPod(pod: Pod): Pod {
  const ann = pod.metadata.annotations;
  const keep: Record<string, string> = {};
  if (ann?.[ANNOTATION_INJECT] !== undefined) keep[ANNOTATION_INJECT] = ann[ANNOTATION_INJECT];
  if (ann?.[ANNOTATION_STATUS] !== undefined) keep[ANNOTATION_STATUS] = ann[ANNOTATION_STATUS];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      uid: pod.metadata.uid,
      resourceVersion: pod.metadata.resourceVersion,
      annotations: keep,
    },
    spec: {
      containers: (pod.spec?.containers ?? []).map((c) => ({ name: c.name })),
      initContainers: (pod.spec?.initContainers ?? []).map((c) => ({ name: c.name })),
    },
  };
}

export function slimNamespace(ns: KubeObject): KubeObject {
  const v = ns.metadata.annotations?.[ANNOTATION_INJECT];
  return {
    metadata: {
      name: ns.metadata.name,
      uid: ns.metadata.uid,
      resourceVersion: ns.metadata.resourceVersion,
      annotations: v === undefined ? {} : { [ANNOTATION_INJECT]: v },
    },
  };
}

/** Whether `pod` asked for a sidecar and lacks it, and why; undefined when all is well. */
export function uninjectedReason(pod: Pod, namespace: KubeObject | undefined): UninjectedReason | undefined {
  const own = pod.metadata.annotations?.[ANNOTATION_INJECT];
  const asked =
    own !== undefined ? own === 'true' : namespace?.metadata.annotations?.[ANNOTATION_INJECT] === 'true';
  if (!asked) return undefined;
  const has = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some(
    (c) => c.name === SIDECAR_CONTAINER_NAME,
  );
  if (has) return undefined;
  return pod.metadata.annotations?.[ANNOTATION_STATUS]?.startsWith('skipped') ? 'skipped' : 'webhook_missed';
}

export class UninjectedPods {
  private readonly o: UninjectedOptions;
  private readonly state = new Map<string, UninjectedReason>();
  private counts: Record<UninjectedReason, number> = { webhook_missed: 0, skipped: 0 };

  constructor(options: UninjectedOptions) {
    this.o = options;
    options.pods.on((event, pod) => {
      if (event === 'delete') this.forget(pod);
      else this.evaluate(pod);
    });
    options.namespaces.on((event, ns) => {
      if (event === 'resync') return;
      for (const pod of options.pods.list(ns.metadata.name)) this.evaluate(pod);
    });
  }

  get uninjected(): Readonly<Record<UninjectedReason, number>> {
    return this.counts;
  }

  /** Pod keys currently counted (tests). */
  keys(): string[] {
    return [...this.state.keys()];
  }

  private evaluate(pod: Pod): void {
    const ns = pod.metadata.namespace ?? '';
    const key = `${ns}/${pod.metadata.name}`;
    const reason = this.o.excludedNamespaces.has(ns)
      ? undefined
      : uninjectedReason(pod, this.o.namespaces.get(undefined, ns));
    const prev = this.state.get(key);
    if (prev === reason) return;
    if (reason === undefined) this.state.delete(key);
    else this.state.set(key, reason);
    this.adjust(prev, reason);
    if (reason !== undefined) {
      this.o.events.emit(
        pod,
        'Warning',
        'SidecarMissing',
        reason === 'webhook_missed'
          ? `pod asked for the ${SIDECAR_CONTAINER_NAME} sidecar (${ANNOTATION_INJECT}=true) but runs without it: it was created while the admission webhook was unavailable. Recreate the pod (e.g. kubectl rollout restart) to inject it.`
          : `pod asked for the ${SIDECAR_CONTAINER_NAME} sidecar but the webhook skipped it (${pod.metadata.annotations?.[ANNOTATION_STATUS]}).`,
      );
    }
  }

  private forget(pod: Pod): void {
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
    const prev = this.state.get(key);
    if (prev === undefined) return;
    this.state.delete(key);
    this.adjust(prev, undefined);
  }

  private adjust(from: UninjectedReason | undefined, to: UninjectedReason | undefined): void {
    const c = { ...this.counts };
    if (from) c[from]--;
    if (to) c[to]++;
    this.counts = c;
    this.o.onCounts(c);
  }
}
