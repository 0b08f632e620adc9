/**
 * Kubernetes Events (core/v1) on policies and pods. Events are best effort: a bucket caps
 * how many are written, identical events within `dedupMs` are written once, and whatever
 * is skipped or fails is counted, never retried and never blocks a reconcile.
 * Messages are built by the caller from names and reasons only, never from key material.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../lib/log.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/types.ts';
import { RESOURCES } from '../kube/types.ts';
import { TokenBucket } from '../queue/ratelimit.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventSink {
  emit(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

export interface EventRecorderOptions {
  component?: string;
  qps?: number;
  burst?: number;
  dedupMs?: number;
  maxRemembered?: number;
  onDrop?: (why: 'rate' | 'error') => void;
}

export class EventRecorder implements EventSink {
  private readonly client: KubeClient;
  private readonly logger: Logger;
  private readonly bucket: TokenBucket;
  private readonly component: string;
  private readonly dedupMs: number;
  private readonly maxRemembered: number;
  private readonly recent = new Map<string, number>();
  private readonly onDrop: (why: 'rate' | 'error') => void;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(client: KubeClient, logger: Logger, options: EventRecorderOptions = {}) {
    this.client = client;
    this.logger = logger;
    this.component = options.component ?? 'axom-observer-operator';
    this.bucket = new TokenBucket(options.qps ?? 5, options.burst ?? 50);
    this.dedupMs = options.dedupMs ?? 10 * 60_000;
    this.maxRemembered = options.maxRemembered ?? 4096;
    this.onDrop = options.onDrop ?? (() => undefined);
  }

  emit(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const now = Date.now();
    const dedupKey = `${obj.metadata.uid}|${reason}|${message}`;
    const last = this.recent.get(dedupKey);
    if (last !== undefined && now - last < this.dedupMs) return;
    if (this.bucket.available() < 1) {
      this.onDrop('rate');
      return;
    }
    this.bucket.reserve();
    this.recent.delete(dedupKey);
    this.recent.set(dedupKey, now);
    if (this.recent.size > this.maxRemembered) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    const ts = new Date(now).toISOString();
    const namespace = obj.metadata.namespace ?? 'default';
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.component,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    const p = this.client
      .create(RESOURCES.events, namespace, body as unknown as KubeObject)
      .catch((err: unknown) => {
        this.onDrop('error');
        this.logger.debug({ err: (err as Error).message, reason }, 'event not written');
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Waits for events being written (shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }
}
