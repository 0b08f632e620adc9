/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 *  - a candidate takes the Lease when it is free (no holder) or its holder has not renewed
 *    for leaseDuration, measured on *our* clock from when we last saw the record change
 *    (so clock skew between replicas does not matter);
 *  - every write carries the resourceVersion read, so two candidates never both win;
 *  - the leader renews every retryPeriod and gives up leadership if it could not renew
 *    for renewDeadline (< leaseDuration, so it stops before anybody else may start);
 *  - release() (SIGTERM) empties the holder so a successor takes over at once.
 * Losing leadership is not fatal: the elector becomes a candidate again.
 */
import type { Logger } from '../../lib/log.ts';
import type { KubeClient } from '../kube/client.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../kube/client.ts';
import type { Lease } from '../kube/types.ts';
import { RESOURCES } from '../kube/types.ts';

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  onStartedLeading: () => void;
  /** Awaited on stop(), so the lease is released only after the work stopped. */
  onStoppedLeading: () => void | Promise<void>;
}

/** Lease times are MicroTime: RFC 3339 with six fractional digits. */
export function microTime(date: Date = new Date()): string {
  return `${date.toISOString().slice(0, 23)}000Z`;
}

export class LeaderElector {
  readonly identity: string;
  private readonly o: Required<
    Omit<LeaderElectorOptions, 'logger' | 'onStartedLeading' | 'onStoppedLeading'>
  > &
    LeaderElectorOptions;
  private leading = false;
  private stopped = false;
  private observedKey = '';
  private observedAt = 0;
  private observedHolder = '';
  private lastRenew = 0;
  private lease: Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      ...options,
    };
    if (this.o.renewDeadlineMs >= this.o.leaseDurationMs) {
      throw new RangeError('leader election: renewDeadline must be shorter than leaseDuration');
    }
    this.identity = options.identity;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const ok = await this.tryAcquireOrRenew();
      const now = performance.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading && !this.stopped) {
          this.leading = true;
          this.o.logger.info(
            { lease: `${this.o.namespace}/${this.o.name}`, identity: this.identity },
            'became leader',
          );
          this.o.onStartedLeading();
        }
      } else if (
        this.leading &&
        (now - this.lastRenew > this.o.renewDeadlineMs ||
          (this.observedHolder && this.observedHolder !== this.identity))
      ) {
        this.leading = false;
        this.o.logger.warn({ identity: this.identity }, 'could not renew the lease in time; stepped down');
        void this.o.onStoppedLeading();
      }
      // Candidates retry with jitter so that they do not hit the Lease in lock step.
      const wait = this.leading ? this.o.retryPeriodMs : this.o.retryPeriodMs * (1 + 0.2 * Math.random());
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, wait);
      });
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name } = this.o;
    const nowDate = new Date();
    let current: Lease | undefined;
    try {
      current = await client.get<Lease>(RESOURCES.leases, namespace, name);
    } catch (err) {
      if (!isNotFound(err)) {
        this.o.logger.debug({ err: (err as Error).message }, 'lease read failed');
        return false;
      }
    }
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: microTime(nowDate),
      renewTime: microTime(nowDate),
      leaseTransitions: 0,
    };
    if (!current) {
      try {
        this.lease = await client.create<Lease>(RESOURCES.leases, namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec,
        });
        this.observe(this.lease);
        return true;
      } catch (err) {
        if (!isAlreadyExists(err))
          this.o.logger.debug({ err: (err as Error).message }, 'lease create failed');
        return false;
      }
    }
    this.observe(current);
    const holder = current.spec?.holderIdentity ?? '';
    const durationMs = (current.spec?.leaseDurationSeconds ?? spec.leaseDurationSeconds) * 1000;
    if (holder && holder !== this.identity && performance.now() < this.observedAt + durationMs) return false;
    if (holder === this.identity) {
      spec.acquireTime = current.spec?.acquireTime ?? spec.acquireTime;
      spec.leaseTransitions = current.spec?.leaseTransitions ?? 0;
    } else {
      spec.leaseTransitions = (current.spec?.leaseTransitions ?? 0) + 1;
    }
    try {
      this.lease = await client.replace<Lease>(RESOURCES.leases, { ...current, spec });
      this.observe(this.lease);
      return true;
    } catch (err) {
      if (!isConflict(err)) this.o.logger.debug({ err: (err as Error).message }, 'lease update failed');
      return false;
    }
  }

  /** Remembers when the record last changed, on our own clock. */
  private observe(lease: Lease): void {
    const key = `${lease.spec?.holderIdentity ?? ''}|${lease.spec?.renewTime ?? ''}`;
    this.observedHolder = lease.spec?.holderIdentity ?? '';
    if (key !== this.observedKey) {
      this.observedKey = key;
      this.observedAt = performance.now();
    }
  }

  /** Stops campaigning; when leading, releases the Lease so a successor need not wait. */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    const wasLeading = this.leading;
    this.leading = false;
    if (wasLeading) await this.o.onStoppedLeading();
    if (release && wasLeading && this.lease) {
      const now = microTime();
      try {
        await this.o.client.replace<Lease>(RESOURCES.leases, {
          ...this.lease,
          spec: {
            ...this.lease.spec,
            holderIdentity: null,
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
          },
        });
        this.o.logger.info({ identity: this.identity }, 'released the lease');
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'could not release the lease');
      }
    }
  }
}
