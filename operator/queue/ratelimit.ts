/**
 * A token bucket: `qps` tokens a second, at most `burst` saved up. `reserve()` takes a token
 * now or books the next free one and says how long to wait for it, so callers that wait in
 * parallel are spread out instead of all waking at once.
 */
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';

export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly clock: Clock;

  constructor(qps: number, burst: number, clock: Clock = systemClock) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError('token bucket needs qps > 0 and burst >= 1');
    this.qps = qps;
    this.burst = burst;
    this.tokens = burst;
    this.clock = clock;
    this.last = clock.now();
  }

  /** Takes one token; returns 0 when it was available, else the milliseconds until it is. */
  reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    // Going negative books future tokens: the n-th waiter waits n/qps.
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }

  /** Tokens available now (may be negative while reservations are outstanding). */
  available(): number {
    const now = this.clock.now();
    return Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
  }
}
