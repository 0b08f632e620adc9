/**
 * A small Kubernetes REST client over undici: one connection pool for the process, JSON in
 * and out, errors as KubeApiError with the Status reason, and a hook that sees every
 * request (the API-call counter behind the "steady state writes nothing" guarantee).
 *
 * client-node's generated clients build a fresh dispatcher per call; a controller that
 * reconciles a thousand policies wants one pool, so the TLS material is read once here and
 * only the Authorization header is refreshed per call (bound service-account tokens rotate).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, request as undiciRequest } from 'undici';
import { KubeApiError } from '../../lib/errors.ts';
import type { KubeObject, ResourceType } from './types.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
export const WRITE_VERBS: ReadonlySet<Verb> = new Set(['create', 'update', 'patch', 'delete']);

/** Called once per finished request; `statusCode` is 0 when the server was not reached. */
export type RequestObserver = (verb: Verb, resource: string, statusCode: number) => void;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Content type of `body`; JSON unless a patch type is given. */
  contentType?: string;
  signal?: AbortSignal;
  /** For the observer's `resource` label (e.g. `configmaps`); derived from the path otherwise. */
  resource?: string;
}

export interface KubeClientOptions {
  /** Timeout for a whole non-watch request. */
  requestTimeoutMs?: number;
  userAgent?: string;
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
  code?: number;
}

const AUTH_TTL_MS = 30_000;
const MAX_WATCH_LINE = 16 * 1024 * 1024;

export class KubeClient {
  readonly server: string;
  private readonly kubeConfig: KubeConfig;
  private dispatcher: Agent | undefined;
  private authHeaders: Record<string, string> = {};
  private authExpires = 0;
  private readonly requestTimeoutMs: number;
  private readonly userAgent: string;
  private readonly observers: RequestObserver[] = [];

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new KubeApiError('kubeconfig has no current cluster', undefined, 'NoCluster');
    this.kubeConfig = kubeConfig;
    this.server = cluster.server.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.userAgent = options.userAgent ?? 'axom-observer-operator';
  }

  /** Adds a request observer (metrics, tests). */
  observe(observer: RequestObserver): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  async close(): Promise<void> {
    await this.dispatcher?.close().catch(() => undefined);
  }

  private notify(verb: Verb, resource: string, status: number): void {
    for (const o of this.observers) o(verb, resource, status);
  }

  /**
   * Resolves TLS material once (CA, client certificate) and the Authorization header at
   * most every AUTH_TTL_MS, so rotated service-account tokens are picked up.
   */
  private async prepare(
    contentType?: string,
  ): Promise<{ headers: Record<string, string>; dispatcher: Agent }> {
    const now = Date.now();
    if (!this.dispatcher || now >= this.authExpires) {
      const opts: Record<string, unknown> & { headers?: Record<string, string>; auth?: string } = {};
      await this.kubeConfig.applyToHTTPSOptions(opts as never);
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      this.authHeaders = headers;
      this.authExpires = now + AUTH_TTL_MS;
      if (!this.dispatcher) {
        const connect: Record<string, unknown> = { keepAlive: true, keepAliveInitialDelay: 30_000 };
        for (const k of ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername']) {
          if (opts[k] !== undefined) connect[k] = opts[k];
        }
        this.dispatcher = new Agent({ connect, connections: 32, pipelining: 1 });
      }
    }
    const h: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.userAgent,
      ...this.authHeaders,
    };
    if (contentType) h['content-type'] = contentType;
    return { headers: h, dispatcher: this.dispatcher };
  }

  private url(path: string, query?: RequestOptions['query']): string {
    let qs = '';
    if (query) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') p.set(k, String(v));
      const s = p.toString();
      if (s) qs = `?${s}`;
    }
    return `${this.server}${path}${qs}`;
  }

  async request<T>(method: string, verb: Verb, path: string, options: RequestOptions = {}): Promise<T> {
    const resource = options.resource ?? resourceOf(path);
    const contentType = options.body === undefined ? undefined : (options.contentType ?? 'application/json');
    let statusCode = 0;
    try {
      const { headers, dispatcher } = await this.prepare(contentType);
      const res = await undiciRequest(this.url(path, options.query), {
        method: method as 'GET',
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        dispatcher,
        signal: options.signal,
        headersTimeout: this.requestTimeoutMs,
        bodyTimeout: this.requestTimeoutMs,
      });
      statusCode = res.statusCode;
      const text = await res.body.text();
      if (statusCode >= 200 && statusCode < 300) return (text ? JSON.parse(text) : undefined) as T;
      throw apiError(method, path, statusCode, text);
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      throw new KubeApiError(
        `${method} ${path}: ${(err as Error).message}`,
        undefined,
        (err as Error).name === 'AbortError' ? 'Aborted' : 'Unreachable',
        { cause: err },
      );
    } finally {
      this.notify(verb, resource, statusCode);
    }
  }

  get<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>('GET', 'get', resourcePath(rt, namespace, name), { resource: rt.plural });
  }

  list<T extends KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    query: RequestOptions['query'] = {},
    signal?: AbortSignal,
  ): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', 'list', resourcePath(rt, namespace), {
      query,
      signal,
      resource: rt.plural,
    });
  }

  create<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, body: T): Promise<T> {
    return this.request<T>('POST', 'create', resourcePath(rt, namespace), { body, resource: rt.plural });
  }

  /** PUT with the body's resourceVersion: fails with Conflict if somebody wrote in between. */
  replace<T extends KubeObject>(rt: ResourceType, body: T, subresource?: string): Promise<T> {
    const path = resourcePath(rt, body.metadata.namespace, body.metadata.name, subresource);
    return this.request<T>('PUT', 'update', path, { body, resource: sub(rt.plural, subresource) });
  }

  /** JSON merge patch (RFC 7386). */
  mergePatch<T extends KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: string,
  ): Promise<T> {
    return this.request<T>('PATCH', 'patch', resourcePath(rt, namespace, name, subresource), {
      body: patch,
      contentType: 'application/merge-patch+json',
      resource: sub(rt.plural, subresource),
    });
  }

  delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    preconditions?: { uid?: string; resourceVersion?: string },
  ): Promise<unknown> {
    const body = preconditions ? { kind: 'DeleteOptions', apiVersion: 'v1', preconditions } : undefined;
    return this.request('DELETE', 'delete', resourcePath(rt, namespace, name), { body, resource: rt.plural });
  }

  /**
   * Opens a watch and calls `onEvent` for every event line until the server ends the
   * stream (resolves) or the connection fails (rejects). An HTTP error answer rejects with
   * its KubeApiError (410 Gone included); an ERROR event is handed to `onEvent`.
   */
  async watch<T extends KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    query: RequestOptions['query'],
    onEvent: (event: WatchEvent<T>) => void,
    options: { signal?: AbortSignal; idleTimeoutMs: number },
  ): Promise<void> {
    const path = resourcePath(rt, namespace);
    let statusCode = 0;
    try {
      const { headers, dispatcher } = await this.prepare();
      const res = await undiciRequest(this.url(path, { ...query, watch: 1 }), {
        method: 'GET',
        headers,
        dispatcher,
        signal: options.signal,
        headersTimeout: this.requestTimeoutMs,
        // A watch that says nothing for this long is presumed dead (bookmarks keep quiet
        // watches talking), and is reopened from the last resourceVersion.
        bodyTimeout: options.idleTimeoutMs,
      });
      statusCode = res.statusCode;
      if (statusCode !== 200) throw apiError('GET', path, statusCode, await res.body.text());
      let pending = '';
      for await (const chunk of res.body) {
        pending += (chunk as Buffer).toString('utf8');
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line.trim()) onEvent(JSON.parse(line) as WatchEvent<T>);
          nl = pending.indexOf('\n');
        }
        if (pending.length > MAX_WATCH_LINE) {
          throw new KubeApiError(`watch ${path}: event larger than ${MAX_WATCH_LINE} bytes`, 200, 'TooLarge');
        }
      }
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      throw new KubeApiError(
        `watch ${path}: ${(err as Error).message}`,
        undefined,
        options.signal?.aborted ? 'Aborted' : 'Unreachable',
        { cause: err },
      );
    } finally {
      this.notify('watch', rt.plural, statusCode);
    }
  }
}

export interface KubeList<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

function sub(plural: string, subresource?: string): string {
  return subresource ? `${plural}/${subresource}` : plural;
}

export function resourcePath(
  rt: ResourceType,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  let p = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  if (rt.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${rt.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

function resourceOf(path: string): string {
  const parts = path.split('?')[0]?.split('/') ?? [];
  const i = parts.indexOf('namespaces');
  return (i >= 0 ? parts[i + 2] : parts.at(-1)) ?? 'unknown';
}

function apiError(method: string, path: string, statusCode: number, text: string): KubeApiError {
  let status: StatusBody = {};
  try {
    status = JSON.parse(text) as StatusBody;
  } catch {
    // not a Status object (a proxy's HTML error page, say): keep the start of it
  }
  const reason = status.reason || (statusCode === 410 ? 'Expired' : `HTTP${statusCode}`);
  const message = status.message || text.slice(0, 200);
  return new KubeApiError(`${method} ${path}: ${statusCode} ${reason}: ${message}`, statusCode, reason);
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.statusCode === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.statusCode === 409;
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof KubeApiError && err.statusCode === 409 && err.reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => err instanceof KubeApiError && err.statusCode === 410;
