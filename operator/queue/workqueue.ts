/**
 * The controller's work queue, keyed by `namespace/name` (client-go's semantics):
 *  - a key is queued at most once however often it is added (dirty set);
 *  - a key being processed is never handed to a second worker; an add meanwhile is
 *    remembered and the key is queued again when the first worker calls done();
 *  - `retry` re-adds after a per-key exponential backoff, `forget` resets it;
 *  - `get` waits for a token of the global bucket, so reconciles never exceed its rate;
 *  - at most `maxSize` keys wait (ready + delayed); more are dropped and counted, and the
 *    next periodic resync brings them back.
 */
import type { BackoffOptions } from './backoff.ts';
import { KeyedBackoff } from './backoff.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { TokenBucket } from './ratelimit.ts';

export interface WorkQueueOptions {
  maxSize?: number;
  backoff?: BackoffOptions;
  rateLimiter?: TokenBucket;
  clock?: Clock;
  random?: () => number;
  /** Called with every key dropped because the queue was full. */
  onDrop?: (key: string) => void;
}

export class WorkQueue {
  readonly maxSize: number;
  private items: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { at: number; handle: unknown }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly backoff: KeyedBackoff;
  private readonly limiter: TokenBucket | undefined;
  private readonly clock: Clock;
  private readonly onDrop: (key: string) => void;
  private closed = false;
  dropped = 0;

  constructor(options: WorkQueueOptions = {}) {
    this.maxSize = options.maxSize ?? 10_000;
    this.backoff = new KeyedBackoff(options.backoff ?? { baseMs: 500, maxMs: 5 * 60_000 }, options.random);
    this.limiter = options.rateLimiter;
    this.clock = options.clock ?? systemClock;
    this.onDrop = options.onDrop ?? (() => undefined);
  }

  /** Keys waiting to be handed out now. */
  get depth(): number {
    return this.items.length - this.head;
  }

  /** Keys waiting for a backoff or a requeue-after. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  get processingCount(): number {
    return this.processing.size;
  }

  get isShutDown(): boolean {
    return this.closed;
  }

  /** Queues `key` now. Returns false when it was dropped (queue full or shut down). */
  add(key: string): boolean {
    if (this.closed) return false;
    if (this.dirty.has(key)) return true;
    if (this.dirty.size + this.delayed.size >= this.maxSize && !this.delayed.has(key)) {
      this.dropped++;
      this.onDrop(key);
      return false;
    }
    this.dirty.add(key);
    if (this.processing.has(key)) return true;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.items.push(key);
    }
    return true;
  }

  /** Queues `key` after `ms`; an earlier pending time for the same key wins. */
  addAfter(key: string, ms: number): boolean {
    if (this.closed) return false;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return true;
    if (!existing && this.dirty.size + this.delayed.size >= this.maxSize) {
      this.dropped++;
      this.onDrop(key);
      return false;
    }
    if (existing) this.clock.clearTimeout(existing.handle);
    const handle = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
    return true;
  }

  /** Queues `key` again after its backoff; returns the delay chosen. */
  retry(key: string): number {
    const ms = this.backoff.next(key);
    this.addAfter(key, ms);
    return ms;
  }

  /** Clears the failure count of `key` (after a successful reconcile). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  attempts(key: string): number {
    return this.backoff.attempts(key);
  }

  /**
   * The next key to work on, after waiting for a rate-limit token; undefined once the
   * queue is shut down. The caller must call done(key) when finished.
   */
  async get(): Promise<string | undefined> {
    if (this.closed) return undefined;
    const key =
      this.take() ?? (await new Promise<string | undefined>((resolve) => this.waiters.push(resolve)));
    if (key === undefined) return undefined;
    const wait = this.limiter?.reserve() ?? 0;
    if (wait > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, wait));
    return key;
  }

  private take(): string | undefined {
    if (this.closed || this.depth === 0) return undefined;
    const key = this.items[this.head] as string;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  /** Marks `key` finished; if it was added meanwhile it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.closed || !this.dirty.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.items.push(key);
    }
  }

  /** Stops handing out keys: waiting get() calls resolve undefined, timers are cleared. */
  shutdown(): void {
    this.closed = true;
    for (const d of this.delayed.values()) this.clock.clearTimeout(d.handle);
    this.delayed.clear();
    this.items = [];
    this.head = 0;
    this.dirty.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
