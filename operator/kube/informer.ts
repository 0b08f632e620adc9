/**
 * List+watch into a local cache, the way client-go's reflector does it:
 *  - list (paged) to get a consistent snapshot and its resourceVersion, then watch from it;
 *  - a watch that ends normally is reopened from the last resourceVersion seen (bookmarks
 *    keep that fresh), so a quiet resource is never relisted for nothing;
 *  - 410 Gone (the version fell out of etcd's window) means relist;
 *  - any other failure (API server down, TLS error) reconnects after a jittered, capped
 *    exponential backoff, reset once a watch delivers;
 *  - every `resyncMs` the whole cache is handed to the handler again, so a missed
 *    reconcile is never missed for long.
 * One reflector runs per namespace when a set is configured; they share the cache.
 */
import type { Logger } from '../../lib/log.ts';
import { silentLogger } from '../../lib/log.ts';
import type { BackoffOptions } from '../queue/backoff.ts';
import { backoffDelay } from '../queue/backoff.ts';
import type { KubeClient, WatchEvent } from './client.ts';
import { isGone } from './client.ts';
import type { KubeObject, ResourceType } from './types.ts';
import { keyOf } from './types.ts';

export type InformerEvent = 'add' | 'update' | 'delete' | 'resync';
export type InformerHandler<T> = (event: InformerEvent, obj: T, old: T | undefined) => void;

export interface InformerOptions<T extends KubeObject> {
  resource: ResourceType;
  /** Namespaces to watch; undefined or empty = all namespaces (or a cluster-scoped kind). */
  namespaces?: readonly string[];
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver the cache this often (jittered ±10%); 0 = never. */
  resyncMs?: number;
  backoff?: BackoffOptions;
  /** Server-side watch timeout, jittered between this and twice this. */
  watchTimeoutSeconds?: number;
  pageSize?: number;
  /** Keeps only what the controller needs of each object (memory). */
  transform?: (obj: T) => T;
  logger?: Logger;
  /** Called for each restart of a list or watch, for metrics. */
  onRestart?: (reason: 'gone' | 'error' | 'end') => void;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

export class Informer<T extends KubeObject> {
  readonly resource: ResourceType;
  private readonly client: KubeClient;
  private readonly options: InformerOptions<T>;
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly logger: Logger;
  private abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private syncedScopes = 0;
  private scopeCount = 0;
  private syncedResolve: (() => void) | undefined;
  readonly synced: Promise<void>;

  constructor(client: KubeClient, options: InformerOptions<T>) {
    this.client = client;
    this.options = options;
    this.resource = options.resource;
    this.logger = (options.logger ?? silentLogger).child({ informer: options.resource.plural });
    this.synced = new Promise((resolve) => {
      this.syncedResolve = resolve;
    });
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  get hasSynced(): boolean {
    return this.scopeCount > 0 && this.syncedScopes >= this.scopeCount;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(namespace?: string): T[] {
    const out: T[] = [];
    for (const obj of this.cache.values())
      if (namespace === undefined || obj.metadata.namespace === namespace) out.push(obj);
    return out;
  }

  /**
   * Puts an object the controller just wrote into the cache without an event, so the next
   * reconcile sees its own write even before the watch delivers it (which then changes
   * nothing). An older version never replaces a newer one.
   */
  assume(raw: T): void {
    const obj = this.options.transform ? this.options.transform(raw) : raw;
    const key = keyOf(obj);
    const old = this.cache.get(key);
    if (old && newerOrSame(old.metadata.resourceVersion, obj.metadata.resourceVersion)) return;
    this.cache.set(key, obj);
  }

  get size(): number {
    return this.cache.size;
  }

  start(): void {
    const ns =
      this.options.resource.namespaced && this.options.namespaces?.length
        ? this.options.namespaces
        : [undefined];
    this.scopeCount = ns.length;
    for (const n of ns) this.loops.push(this.run(n));
    const resync = this.options.resyncMs ?? 0;
    if (resync > 0) {
      const tick = (): void => {
        this.resyncTimer = setTimeout(
          () => {
            for (const obj of this.cache.values()) this.emit('resync', obj, undefined);
            tick();
          },
          resync * (0.9 + 0.2 * Math.random()),
        );
        this.resyncTimer.unref();
      };
      tick();
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    await Promise.allSettled(this.loops);
  }

  private emit(event: InformerEvent, obj: T, old: T | undefined): void {
    for (const h of this.handlers) {
      try {
        h(event, obj, old);
      } catch (err) {
        this.logger.error({ err }, 'informer handler failed');
      }
    }
  }

  private inScope(obj: T, namespace: string | undefined): boolean {
    return namespace === undefined || obj.metadata.namespace === namespace;
  }

  private upsert(raw: T): void {
    const obj = this.options.transform ? this.options.transform(raw) : raw;
    const key = keyOf(obj);
    const old = this.cache.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.cache.set(key, obj);
    this.emit(old ? 'update' : 'add', obj, old);
  }

  private remove(obj: T): void {
    const key = keyOf(obj);
    const old = this.cache.get(key);
    this.cache.delete(key);
    this.emit('delete', old ?? obj, old);
  }

  /** Lists every page and replaces this scope's part of the cache; returns the list's resourceVersion. */
  private async relist(namespace: string | undefined): Promise<string> {
    const seen = new Set<string>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list<T>(
        this.resource,
        namespace,
        {
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
          limit: this.options.pageSize ?? 500,
          continue: cont,
        },
        this.abort.signal,
      );
      for (const item of page.items) {
        // Lists leave out apiVersion/kind on items; keep the cache uniform with watch events.
        seen.add(keyOf(item));
        this.upsert(item);
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? '';
    } while (cont);
    for (const [key, obj] of this.cache) if (this.inScope(obj, namespace) && !seen.has(key)) this.remove(obj);
    return rv;
  }

  private async run(namespace: string | undefined): Promise<void> {
    const signal = this.abort.signal;
    let rv = '';
    let failures = 0;
    let synced = false;
    const timeout = this.options.watchTimeoutSeconds ?? 300;
    while (!signal.aborted) {
      try {
        if (!rv) {
          rv = await this.relist(namespace);
          if (!synced) {
            synced = true;
            this.syncedScopes++;
            if (this.hasSynced) this.syncedResolve?.();
          }
        }
        let gone = false;
        let delivered = false;
        const started = Date.now();
        const watchTimeout = Math.round(timeout * (1 + Math.random()));
        await this.client.watch<T>(
          this.resource,
          namespace,
          {
            resourceVersion: rv,
            allowWatchBookmarks: true,
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
            timeoutSeconds: watchTimeout,
          },
          (ev: WatchEvent<T>) => {
            delivered = true;
            failures = 0;
            if (ev.type === 'ERROR') {
              const status = ev.object as unknown as { code?: number; message?: string };
              if (status.code === 410) gone = true;
              else this.logger.warn({ status: status.code, msg: status.message }, 'watch error event');
              return;
            }
            if (ev.object.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
            if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.upsert(ev.object);
            else if (ev.type === 'DELETED') this.remove(ev.object);
          },
          { signal, idleTimeoutMs: (watchTimeout + 60) * 1000 },
        );
        if (gone) {
          this.options.onRestart?.('gone');
          this.logger.debug('watch expired (410 Gone); relisting');
          rv = '';
        } else {
          this.options.onRestart?.('end');
          // A server that ends every watch at once must not become a tight loop.
          if (!delivered && Date.now() - started < 1000) {
            failures++;
            await sleep(backoffDelay(failures, this.options.backoff ?? DEFAULT_BACKOFF), signal);
          }
        }
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          this.options.onRestart?.('gone');
          rv = '';
          continue;
        }
        failures++;
        this.options.onRestart?.('error');
        const delay = backoffDelay(failures, this.options.backoff ?? DEFAULT_BACKOFF);
        this.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'list/watch failed; retrying');
        await sleep(delay, signal);
      }
    }
  }
}

/** resourceVersions are opaque, but etcd's are integers; compare them when they are. */
function newerOrSame(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (a === b) return true;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return a.length !== b.length ? a.length > b.length : a > b;
  return false;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
