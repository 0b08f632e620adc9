/**
 * Informer-backed caches of ObservationPolicies and Namespaces, so that an admission reads
 * memory and never calls the API server. Built on @kubernetes/client-node's ListWatch,
 * which relists on 410 Gone but stops for good on any other error: we restart it with a
 * capped, jittered backoff. The operator may use these or hand in its own lookups.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type V1Namespace,
} from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import { silentLogger } from '../lib/log.ts';
import { API_GROUP, API_VERSION, POLICY_PLURAL } from '../lib/names.ts';
import type { ObservationPolicy } from '../lib/policy/index.ts';
import type { NamespaceInfo, NamespaceLookup, PolicyLookup } from './types.ts';

interface Restartable {
  on(verb: 'error', cb: (err?: unknown) => void): void;
  on(verb: 'connect', cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface CacheControl {
  /** Resolves once the first list has succeeded (or rejects after `timeoutMs`). */
  synced(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** Keeps an informer running: restart after errors with a capped, jittered exponential backoff. */
function supervise(informer: Restartable, what: string, log: Logger): CacheControl {
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let listedOnce = false;
  let resolveSynced: () => void = () => {};
  const syncedPromise = new Promise<void>((resolve) => {
    resolveSynced = resolve;
  });
  const restart = (): void => {
    if (stopped || timer) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures, 10));
    failures++;
    timer = setTimeout(
      () => {
        timer = undefined;
        run();
      },
      delay / 2 + Math.random() * (delay / 2),
    );
    timer.unref();
  };
  let lastError: unknown;
  const run = (): void => {
    lastError = undefined;
    informer.start().then(
      () => {
        // start() reports a failed list through the error callback, not by rejecting.
        if (lastError === undefined && !listedOnce) {
          listedOnce = true;
          failures = 0;
          resolveSynced();
        }
      },
      (err: unknown) => {
        lastError = err;
        restart();
      },
    );
  };
  informer.on('error', (err) => {
    lastError = err ?? new Error('watch ended');
    if (stopped) return;
    log.warn({ err, cache: what }, 'informer failed; restarting');
    restart();
  });
  run();
  return {
    synced(timeoutMs = 30_000) {
      let t: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        t = setTimeout(() => reject(new Error(`${what} cache not synced after ${timeoutMs} ms`)), timeoutMs);
      });
      return Promise.race([syncedPromise, timeout]).finally(() => clearTimeout(t));
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await informer.stop();
    },
  };
}

export interface InformerOptions {
  log?: Logger;
}

/** ObservationPolicies of every namespace, from a cluster-wide list+watch. */
export function startPolicyCache(
  kubeConfig: KubeConfig,
  options: InformerOptions = {},
): PolicyLookup & CacheControl {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const path = `/apis/${API_GROUP}/${API_VERSION}/${POLICY_PLURAL}`;
  const list = () =>
    api.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL }) as Promise<
      KubernetesListObject<KubernetesObject>
    >;
  // Custom objects arrive as plain JSON; ObservationPolicy is their shape.
  const informer = makeInformer<KubernetesObject>(kubeConfig, path, list);
  const control = supervise(
    informer as unknown as Restartable,
    'ObservationPolicy',
    options.log ?? silentLogger,
  );
  return {
    get: (namespace, name) => informer.get(name, namespace) as ObservationPolicy | undefined,
    list: (namespace) => informer.list(namespace) as unknown as readonly ObservationPolicy[],
    ...control,
  };
}

function toInfo(ns: V1Namespace): NamespaceInfo {
  return {
    name: ns.metadata?.name ?? '',
    labels: ns.metadata?.labels ?? {},
    annotations: ns.metadata?.annotations ?? {},
  };
}

/** Namespace labels and annotations (opt-in annotation, Pod Security level). */
export function startNamespaceCache(
  kubeConfig: KubeConfig,
  options: InformerOptions = {},
): NamespaceLookup & CacheControl {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Namespace>(kubeConfig, '/api/v1/namespaces', () => api.listNamespace());
  const control = supervise(informer as unknown as Restartable, 'Namespace', options.log ?? silentLogger);
  // Converted once per object version; informer objects are replaced on every change.
  const infos = new WeakMap<V1Namespace, NamespaceInfo>();
  return {
    get(name) {
      const ns = informer.get(name);
      if (!ns) return undefined;
      let info = infos.get(ns);
      if (!info) {
        info = toInfo(ns);
        infos.set(ns, info);
      }
      return info;
    },
    ...control,
  };
}

/** A fixed lookup, for tests, benchmarks and running without a cluster. */
export function staticPolicyLookup(policies: readonly ObservationPolicy[]): PolicyLookup {
  return {
    get: (namespace, name) =>
      policies.find((p) => p.metadata.namespace === namespace && p.metadata.name === name),
    list: (namespace) => policies.filter((p) => p.metadata.namespace === namespace),
  };
}

export function staticNamespaceLookup(namespaces: readonly NamespaceInfo[]): NamespaceLookup {
  return { get: (name) => namespaces.find((n) => n.name === name) };
}
