/**
 * The ObservationPolicy controller for one term of leadership: informers feed keys into
 * the work queue, workers reconcile them. A policy key is queued by its own changes, by
 * any change to the objects rendered from it (drift repair: an edited or deleted
 * ConfigMap is rendered again) and by changes to the Secret its API key comes from.
 */
import type { Logger } from '../../lib/log.ts';
import type { ObservationPolicy } from '../../lib/policy/types.ts';
import type { KubeClient } from '../kube/client.ts';
import { Informer, type InformerEvent } from '../kube/informer.ts';
import type { ConfigMap, KubeObject, Pod, Secret } from '../kube/types.ts';
import { keyOf, RESOURCES } from '../kube/types.ts';
import type { OperatorMetrics } from '../metrics.ts';
import type { BackoffOptions } from '../queue/backoff.ts';
import { TokenBucket } from '../queue/ratelimit.ts';
import { WorkQueue } from '../queue/workqueue.ts';
import type { EventSink } from './events.ts';
import type { CentralSecret } from './reconcile.ts';
import { Reconciler } from './reconcile.ts';
import { isManaged, MANAGED_SELECTOR, ownerKey } from './render.ts';
import { slimNamespace, slimPod, UninjectedPods } from './uninjected.ts';

export type PolicyObject = ObservationPolicy & KubeObject;

export interface ControllerOptions {
  client: KubeClient;
  logger: Logger;
  metrics: OperatorMetrics;
  events: EventSink;
  /** Namespaces to watch; empty = all. */
  namespaces: readonly string[];
  central: CentralSecret;
  excludedNamespaces: readonly string[];
  workers?: number;
  qps?: number;
  burst?: number;
  queueMaxSize?: number;
  retryBackoff?: BackoffOptions;
  watchBackoff?: BackoffOptions;
  resyncMs?: number;
  /** Track pods that asked for the sidecar and lack it (needs list/watch on pods and namespaces). */
  watchPods?: boolean;
}

/** Secrets that are never API-key sources and can be large: left out of the cache. */
const SECRET_FIELD_SELECTOR = 'type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token';

export class PolicyController {
  readonly policies: Informer<PolicyObject>;
  readonly configMaps: Informer<ConfigMap>;
  readonly secrets: Informer<Secret>;
  readonly pods: Informer<Pod> | undefined;
  readonly namespaceInformer: Informer<KubeObject> | undefined;
  readonly uninjected: UninjectedPods | undefined;
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  private readonly o: ControllerOptions;
  private readonly readiness = new Map<string, boolean>();
  private workers: Promise<void>[] = [];
  private started = false;

  constructor(options: ControllerOptions) {
    this.o = options;
    const { client, logger, metrics } = options;
    const restart = (resource: string) => (reason: string) => metrics.watchRestarts.inc({ resource, reason });
    const common = { logger, backoff: options.watchBackoff };
    const ns = options.namespaces.length ? options.namespaces : undefined;
    this.policies = new Informer<PolicyObject>(client, {
      ...common,
      resource: RESOURCES.policies,
      namespaces: ns,
      resyncMs: options.resyncMs ?? 10 * 60_000,
      onRestart: restart('observationpolicies'),
    });
    this.configMaps = new Informer<ConfigMap>(client, {
      ...common,
      resource: RESOURCES.configMaps,
      namespaces: ns,
      labelSelector: MANAGED_SELECTOR,
      onRestart: restart('configmaps'),
    });
    // Source Secrets can be any Secret in a watched namespace, or the central one.
    const secretNs = ns ? [...new Set([...ns, options.central.namespace])] : undefined;
    this.secrets = new Informer<Secret>(client, {
      ...common,
      resource: RESOURCES.secrets,
      namespaces: secretNs,
      fieldSelector: SECRET_FIELD_SELECTOR,
      transform: (s) => ({
        metadata: {
          name: s.metadata.name,
          namespace: s.metadata.namespace,
          uid: s.metadata.uid,
          resourceVersion: s.metadata.resourceVersion,
          labels: s.metadata.labels,
          annotations: s.metadata.annotations,
          ownerReferences: s.metadata.ownerReferences,
        },
        type: s.type,
        data: s.data,
      }),
      onRestart: restart('secrets'),
    });
    this.queue = new WorkQueue({
      maxSize: options.queueMaxSize ?? 10_000,
      backoff: options.retryBackoff ?? { baseMs: 500, maxMs: 5 * 60_000 },
      rateLimiter: new TokenBucket(options.qps ?? 50, options.burst ?? 200),
      onDrop: () => metrics.queueDropped.inc(),
    });
    this.reconciler = new Reconciler({
      client,
      policies: this.policies,
      configMaps: this.configMaps,
      secrets: this.secrets,
      events: options.events,
      central: options.central,
      logger,
    });

    this.policies.on((event, policy, old) => {
      // A status-only change (our own status patch echoed back, typically) needs no
      // reconcile: the spec, and so what we render, is the same. Resync still covers it.
      if (event === 'update' && old && statusOnly(old, policy)) return;
      const key = keyOf(policy);
      if (event === 'delete') {
        this.readiness.delete(key);
        this.updateManaged();
      }
      this.enqueue(key);
    });
    // Rendered objects matter when they change or vanish (drift repair). Adds are our own
    // creates (or a relist) and resyncs are covered by the policies' own resync.
    const onRendered = (event: InformerEvent, obj: ConfigMap | Secret): void => {
      if (event === 'add' || event === 'resync' || !isManaged(obj)) return;
      const owner = ownerKey(obj);
      // Objects of deleted policies wait for the garbage collector; nothing to reconcile.
      if (owner && this.policies.get(...split(owner))) this.enqueue(owner);
    };
    this.configMaps.on(onRendered);
    this.secrets.on((event, secret, old) => {
      onRendered(event, secret);
      if (event === 'resync') return;
      if (event === 'update' && old && sameData(old, secret)) return;
      for (const key of this.reconciler.policiesUsingSource(keyOf(secret))) this.enqueue(key);
    });

    if (options.watchPods) {
      this.pods = new Informer<Pod>(client, {
        ...common,
        resource: RESOURCES.pods,
        namespaces: ns,
        fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
        transform: slimPod,
        onRestart: restart('pods'),
      });
      this.namespaceInformer = new Informer<KubeObject>(client, {
        ...common,
        resource: RESOURCES.namespaces,
        transform: slimNamespace,
        onRestart: restart('namespaces'),
      });
      this.uninjected = new UninjectedPods({
        pods: this.pods,
        namespaces: this.namespaceInformer,
        events: options.events,
        excludedNamespaces: new Set(options.excludedNamespaces),
        onCounts: (c) => {
          metrics.uninjectedPods.set({ reason: 'webhook_missed' }, c.webhook_missed);
          metrics.uninjectedPods.set({ reason: 'skipped' }, c.skipped);
        },
      });
    }
  }

  private enqueue(key: string): void {
    this.queue.add(key);
    this.o.metrics.queueDepth.set(this.queue.depth);
  }

  private updateManaged(): void {
    let ready = 0;
    for (const r of this.readiness.values()) if (r) ready++;
    this.o.metrics.policiesManaged.set({ ready: 'true' }, ready);
    this.o.metrics.policiesManaged.set({ ready: 'false' }, this.policies.size - ready);
  }

  get hasSynced(): boolean {
    return (
      this.policies.hasSynced &&
      this.configMaps.hasSynced &&
      this.secrets.hasSynced &&
      (this.pods?.hasSynced ?? true) &&
      (this.namespaceInformer?.hasSynced ?? true)
    );
  }

  /** Starts the informers, waits for their first lists, then starts the workers. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.started) return;
    this.started = true;
    // The namespace cache first, so pods are judged with their namespace's annotation.
    this.namespaceInformer?.start();
    if (this.namespaceInformer) await abortable(this.namespaceInformer.synced, signal);
    for (const inf of [this.configMaps, this.secrets, this.pods]) inf?.start();
    await abortable(Promise.all([this.configMaps.synced, this.secrets.synced]), signal);
    // Policies last: their first reconciles then find the rendered objects already cached.
    this.policies.start();
    await abortable(this.policies.synced, signal);
    if (signal?.aborted) return;
    this.o.logger.info({ policies: this.policies.size }, 'caches synced; reconciling');
    const n = this.o.workers ?? 4;
    for (let i = 0; i < n; i++) this.workers.push(this.work());
  }

  private async work(): Promise<void> {
    const { metrics, logger } = this.o;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      metrics.queueDepth.set(this.queue.depth);
      const end = metrics.reconcileDuration.startTimer();
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        metrics.reconciles.inc({ result: 'success' });
        for (const w of result.writes) metrics.writes.inc({ kind: w });
        if (this.policies.get(...split(key))) this.readiness.set(key, result.ready);
        else this.readiness.delete(key);
        this.updateManaged();
      } catch (err) {
        const e = err as { reason?: string; stage?: string; message: string };
        const reason = e.reason ?? (err as Error).name;
        metrics.reconciles.inc({ result: 'error' });
        metrics.reconcileErrors.inc({ reason });
        const delay = this.queue.retry(key);
        logger.warn({ policy: key, reason, err: e.message, retryInMs: delay }, 'reconcile failed');
        const policy = this.policies.get(...split(key));
        if (policy) this.o.events.emit(policy, 'Warning', 'ReconcileFailed', e.message);
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  async stop(): Promise<void> {
    this.queue.shutdown();
    await Promise.all([
      this.policies.stop(),
      this.configMaps.stop(),
      this.secrets.stop(),
      this.pods?.stop(),
      this.namespaceInformer?.stop(),
    ]);
    await Promise.allSettled(this.workers);
  }
}

function split(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function statusOnly(a: PolicyObject, b: PolicyObject): boolean {
  return (
    a.metadata.generation === b.metadata.generation &&
    a.metadata.deletionTimestamp === b.metadata.deletionTimestamp &&
    a.metadata.uid === b.metadata.uid
  );
}

function sameData(a: Secret, b: Secret): boolean {
  const ak = Object.keys(a.data ?? {});
  if (ak.length !== Object.keys(b.data ?? {}).length) return false;
  return ak.every((k) => a.data?.[k] === b.data?.[k]);
}

function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  if (!signal) return p;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
