/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so that
 * a crowd of clients that failed together (every watch after an API-server restart) do
 * not come back together, yet nobody retries sooner than half the nominal delay.
 */

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** 0 = no jitter, 1 = up to the whole delay is random. Default 0.5. */
  jitter?: number;
}

/** The delay before retry number `attempt` (1-based). `random` is injectable for tests. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 52)));
  const jitter = options.jitter ?? 0.5;
  return Math.round(exp * (1 - jitter) + exp * jitter * random());
}

/** Per-key failure counts for the work queue: the delay grows per key and resets on success. */
export class KeyedBackoff {
  private readonly failures = new Map<string, number>();
  private readonly options: BackoffOptions;
  private readonly random: () => number;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.options = options;
    this.random = random;
  }

  /** Records a failure of `key` and returns how long to wait before the next try. */
  next(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return backoffDelay(n, this.options, this.random);
  }

  attempts(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  get size(): number {
    return this.failures.size;
  }
}
