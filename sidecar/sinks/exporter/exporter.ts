/**
 * Batched export of signals to the backend. `enqueue` is synchronous and O(1) so capture
 * never waits; one request is in flight at a time; failures put the batch back in front
 * of the queue and retry with exponential backoff and jitter (at least what Retry-After
 * asks). At most `maxQueueSize` unsent signals are kept; beyond that the oldest are
 * dropped and counted (while a batch is in flight it may still be delivered, so up to one
 * batch more is held until it settles). `close` flushes within a grace period and counts
 * whatever it could not send.
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { Agent, type Dispatcher, request } from 'undici';
import { ExportError } from '../../../lib/errors.ts';
import { type Logger, silentLogger } from '../../../lib/log.ts';
import { ApiKeySource } from './apikey.ts';
import { Ring } from './ring.ts';

const gzip = promisify(gzipCallback);

export interface ExporterOptions {
  url: string;
  format?: 'json' | 'ndjson';
  compression?: 'gzip' | 'none';
  batchSize: number;
  flushIntervalMs: number;
  maxQueueSize: number;
  /** Limit of one request, connect to last response byte. */
  timeoutMs?: number;
  apiKeyFile?: string;
  /** Used when the file is absent or empty (AXOM_API_KEY). */
  apiKey?: string;
  retry?: Partial<RetryOptions>;
  userAgent?: string;
  log?: Logger;
  /** For tests: the jitter source. */
  random?: () => number;
  dispatcher?: Dispatcher;
}

export interface RetryOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After honoured; longer ones are cut to this. */
  maxRetryAfterMs: number;
}

const DEFAULT_RETRY: RetryOptions = { initialDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 300_000 };

/** Why a request failed, as a metric label. */
export type FailureReason = 'connect' | 'timeout' | 'http_4xx' | 'http_429' | 'http_5xx' | 'auth' | 'network';

export interface ExporterStats {
  queued: number;
  inFlight: number;
  enqueued: number;
  sentSignals: number;
  sentBatches: number;
  sentBytes: number;
  retries: number;
  failures: Record<FailureReason, number>;
  /** Signals dropped: queue_full (oldest waiting), rejected (a 4xx the backend will never take), shutdown. */
  dropped: Record<'queue_full' | 'rejected' | 'shutdown', number>;
  /** The last failed request, as its message. */
  lastError?: string;
}

export interface Exporter {
  /** Queues one serialized signal (a JSON object without newline). Never blocks, never throws. */
  enqueue(json: string): void;
  /** Sends what is queued now, waiting for it (used by tests and shutdown). */
  flush(): Promise<void>;
  /** Stops, sending what it can within `graceMs`; the rest is counted as dropped. */
  close(graceMs: number): Promise<void>;
  stats(): ExporterStats;
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  nowMs = Date.now(),
): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Exponential backoff with equal jitter: half fixed, half random, so retries spread but still back off. */
export function backoffDelay(attempt: number, retry: RetryOptions, random: () => number): number {
  const exp = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return exp / 2 + random() * (exp / 2);
}

class Failure extends ExportError {
  readonly reason: FailureReason;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;
  constructor(
    reason: FailureReason,
    message: string,
    retryable: boolean,
    statusCode?: number,
    retryAfterMs?: number,
  ) {
    super(message, statusCode);
    this.reason = reason;
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

function classify(err: unknown): Failure {
  if (err instanceof Failure) return err;
  const rawCode = (err as { code?: unknown }).code;
  // DOMExceptions (AbortSignal.timeout) carry a numeric code; only undici's strings matter here.
  const code = typeof rawCode === 'string' ? rawCode : '';
  const name = (err as { name?: string }).name ?? '';
  const message = (err as Error).message ?? String(err);
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new Failure('connect', `cannot connect to backend: ${code}`, true);
  }
  if (code.startsWith('UND_ERR_') && code.includes('TIMEOUT'))
    return new Failure('timeout', `backend timed out (${code})`, true);
  if (name === 'TimeoutError' || name === 'AbortError')
    return new Failure('timeout', 'backend timed out', true);
  return new Failure('network', `request to backend failed: ${code || message}`, true);
}

/** Every counter at zero, every failure and drop reason present (metrics list them all). */
export function emptyExporterStats(): ExporterStats {
  return {
    queued: 0,
    inFlight: 0,
    enqueued: 0,
    sentSignals: 0,
    sentBatches: 0,
    sentBytes: 0,
    retries: 0,
    failures: { connect: 0, timeout: 0, http_4xx: 0, http_429: 0, http_5xx: 0, auth: 0, network: 0 },
    dropped: { queue_full: 0, rejected: 0, shutdown: 0 },
  };
}

export function createExporter(options: ExporterOptions): Exporter {
  const format = options.format ?? 'json';
  const compression = options.compression ?? 'gzip';
  const batchSize = options.batchSize;
  const maxQueue = Math.max(options.maxQueueSize, batchSize);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const random = options.random ?? Math.random;
  const log = options.log ?? silentLogger;
  const apiKey = new ApiKeySource(options.apiKeyFile, options.apiKey);
  const url = new URL(options.url);
  const ownDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({
      connectTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      keepAliveTimeout: 30_000,
    });

  // Room for one batch more than the bound: the in-flight batch returns here on failure.
  const queue = new Ring<string>(maxQueue + batchSize);
  let inFlight = 0;
  let sending = false;
  let attempt = 0;
  let backoffTimer: NodeJS.Timeout | undefined;
  let kickScheduled = false;
  let closed = false;
  let finished = false;
  /** Set by close: nothing is sent or retried after it. */
  let deadline = Number.POSITIVE_INFINITY;
  const abort = new AbortController();
  const stats = emptyExporterStats();
  /** Resolved each time the queue drains or a send settles, for flush(). */
  let idleWaiters: Array<() => void> = [];

  const interval = setInterval(() => kick(), options.flushIntervalMs);
  interval.unref();

  function enqueue(json: string): void {
    if (finished) {
      stats.dropped.shutdown++;
      return;
    }
    stats.enqueued++;
    if (queue.length >= maxQueue) {
      queue.shift();
      stats.dropped.queue_full++;
    }
    queue.push(json);
    if (queue.length >= batchSize && !kickScheduled && !sending && backoffTimer === undefined) {
      kickScheduled = true;
      setImmediate(() => {
        kickScheduled = false;
        kick();
      });
    }
  }

  function encode(batch: string[]): string {
    return format === 'ndjson' ? `${batch.join('\n')}\n` : `[${batch.join(',')}]`;
  }

  async function post(batch: string[]): Promise<void> {
    const text = encode(batch);
    const body = compression === 'gzip' ? await gzip(text) : Buffer.from(text);
    const headers: Record<string, string> = {
      'content-type': format === 'ndjson' ? 'application/x-ndjson' : 'application/json',
      'user-agent': options.userAgent ?? 'axom-observer',
    };
    if (compression === 'gzip') headers['content-encoding'] = 'gzip';
    const key = await apiKey.get();
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher,
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (err) {
      throw classify(err);
    }
    // Drain the body so the connection can be reused; its content does not matter.
    await res.body.dump().catch(() => undefined);
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      stats.sentBytes += body.length;
      return;
    }
    const retryAfter = parseRetryAfter(res.headers['retry-after']);
    if (status === 401 || status === 403) {
      apiKey.invalidate();
      throw new Failure('auth', `backend refused the API key (${status})`, true, status, retryAfter);
    }
    if (status === 429)
      throw new Failure('http_429', 'backend asked to slow down (429)', true, status, retryAfter);
    if (status === 408)
      throw new Failure('timeout', 'backend request timeout (408)', true, status, retryAfter);
    if (status >= 500) throw new Failure('http_5xx', `backend error ${status}`, true, status, retryAfter);
    throw new Failure('http_4xx', `backend rejected the batch (${status})`, false, status);
  }

  /** Sends batches until the queue is empty or a failure schedules a retry. */
  async function pump(): Promise<void> {
    if (sending) return;
    sending = true;
    try {
      while (queue.length > 0 && Date.now() < deadline) {
        const batch = queue.take(batchSize);
        inFlight = batch.length;
        try {
          await post(batch);
          stats.sentBatches++;
          stats.sentSignals += batch.length;
          if (attempt > 0) log.info({ attempts: attempt + 1 }, 'backend export recovered');
          attempt = 0;
        } catch (err) {
          const failure = classify(err);
          stats.failures[failure.reason]++;
          stats.lastError = failure.message;
          inFlight = 0;
          if (!failure.retryable) {
            stats.dropped.rejected += batch.length;
            log.warn(
              { err: failure.message, signals: batch.length, status: failure.statusCode },
              'backend rejected a batch; dropped',
            );
            continue;
          }
          // Back in front, oldest first; anything beyond the bound is the oldest and goes.
          for (let i = batch.length - 1; i >= 0; i--) queue.unshift(batch[i] as string);
          while (queue.length > maxQueue) {
            queue.shift();
            stats.dropped.queue_full++;
          }
          attempt++;
          stats.retries++;
          const delay = Math.min(
            Math.max(backoffDelay(attempt, retry, random), failure.retryAfterMs ?? 0),
            retry.maxRetryAfterMs,
          );
          if (attempt === 1 || attempt % 10 === 0) {
            log.warn(
              { err: failure.message, attempt, retryInMs: Math.round(delay) },
              'backend export failed; will retry',
            );
          }
          if (closed) {
            if (Date.now() + delay >= deadline) break;
            await new Promise((r) => setTimeout(r, delay));
            continue;
          }
          backoffTimer = setTimeout(() => {
            backoffTimer = undefined;
            kick();
          }, delay);
          backoffTimer.unref();
          break;
        } finally {
          inFlight = 0;
        }
      }
    } finally {
      sending = false;
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  function kick(): void {
    if (closed || sending || backoffTimer !== undefined || queue.length === 0) return;
    void pump();
  }

  async function flush(): Promise<void> {
    // Wait for a send in progress, then send what is queued (ignoring a pending backoff).
    while (sending) await new Promise<void>((r) => idleWaiters.push(r));
    if (backoffTimer !== undefined) {
      clearTimeout(backoffTimer);
      backoffTimer = undefined;
    }
    await pump();
  }

  async function close(graceMs: number): Promise<void> {
    if (closed) return;
    closed = true;
    deadline = Date.now() + graceMs;
    clearInterval(interval);
    if (backoffTimer !== undefined) {
      clearTimeout(backoffTimer);
      backoffTimer = undefined;
    }
    const stopper = setTimeout(() => abort.abort(), Math.max(0, graceMs));
    try {
      // A send in progress carries on under the deadline; then whatever is left goes.
      while (sending) await new Promise<void>((r) => idleWaiters.push(r));
      await pump();
    } finally {
      clearTimeout(stopper);
      finished = true;
      if (queue.length > 0) {
        stats.dropped.shutdown += queue.length;
        log.warn({ signals: queue.length }, 'shutdown grace period over; unsent signals dropped');
        queue.take(queue.length);
      }
      if (ownDispatcher) await (dispatcher as Agent).close().catch(() => undefined);
    }
  }

  return {
    enqueue,
    flush,
    close,
    stats: () => ({
      ...stats,
      queued: queue.length,
      inFlight,
      failures: { ...stats.failures },
      dropped: { ...stats.dropped },
    }),
  };
}
