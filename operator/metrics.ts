/**
 * The operator's Prometheus metrics, in a registry of its own (never the global one, so
 * tests can run several operators in one process), and the :8080 server that serves them
 * with /healthz and /readyz.
 */
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'result'>;
  readonly reconcileErrors: Counter<'reason'>;
  readonly reconcileDuration: Histogram;
  readonly queueDepth: Gauge;
  readonly queueDropped: Counter;
  readonly policiesManaged: Gauge<'ready'>;
  readonly uninjectedPods: Gauge<'reason'>;
  readonly apiRequests: Counter<'verb' | 'resource' | 'code'>;
  readonly watchRestarts: Counter<'resource' | 'reason'>;
  readonly eventsDropped: Counter<'why'>;
  readonly leader: Gauge;
  readonly writes: Counter<'kind'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const r = [this.registry];
    this.reconciles = new Counter({
      name: 'axom_operator_reconciles_total',
      help: 'Reconciles of ObservationPolicies by result (success, error).',
      labelNames: ['result'],
      registers: r,
    });
    this.reconcileErrors = new Counter({
      name: 'axom_operator_reconcile_errors_total',
      help: 'Failed reconciles by reason (the API Status reason or the failing stage).',
      labelNames: ['reason'],
      registers: r,
    });
    this.reconcileDuration = new Histogram({
      name: 'axom_operator_reconcile_duration_seconds',
      help: 'Time one reconcile takes.',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.queueDepth = new Gauge({
      name: 'axom_operator_queue_depth',
      help: 'Keys waiting in the work queue (ready now).',
      registers: r,
    });
    this.queueDropped = new Counter({
      name: 'axom_operator_queue_dropped_total',
      help: 'Keys dropped because the work queue was full (the next resync brings them back).',
      registers: r,
    });
    this.policiesManaged = new Gauge({
      name: 'axom_operator_policies_managed',
      help: 'ObservationPolicies this operator manages, by readiness.',
      labelNames: ['ready'],
      registers: r,
    });
    this.uninjectedPods = new Gauge({
      name: 'axom_operator_uninjected_pods',
      help: 'Pods that asked for the axom-observer sidecar but run without it (webhook_missed: created while the webhook was unavailable; skipped: the webhook declined).',
      labelNames: ['reason'],
      registers: r,
    });
    this.apiRequests = new Counter({
      name: 'axom_operator_api_requests_total',
      help: 'Kubernetes API requests by verb, resource and HTTP status (0: not reached).',
      labelNames: ['verb', 'resource', 'code'],
      registers: r,
    });
    this.watchRestarts = new Counter({
      name: 'axom_operator_watch_restarts_total',
      help: 'List/watch restarts by resource and reason (end: server closed the watch; gone: 410, relisted; error).',
      labelNames: ['resource', 'reason'],
      registers: r,
    });
    this.eventsDropped = new Counter({
      name: 'axom_operator_events_dropped_total',
      help: 'Kubernetes Events not written (rate: over the event budget; error: the API refused).',
      labelNames: ['why'],
      registers: r,
    });
    this.leader = new Gauge({
      name: 'axom_operator_leader',
      help: '1 while this replica holds the leader Lease.',
      registers: r,
    });
    this.writes = new Counter({
      name: 'axom_operator_writes_total',
      help: 'Objects written by reconciles, by kind (configmap, secret, status).',
      labelNames: ['kind'],
      registers: r,
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'axom_operator_' });
  }
}

export interface HealthSources {
  /** Liveness: the event loop answers, plus whatever this says. */
  healthy(): boolean;
  /** Readiness: caches synced (leader) and the webhook listening. */
  ready(): boolean;
}

/** Serves /metrics, /healthz and /readyz on `host:port`. */
export async function startMetricsServer(
  metrics: OperatorMetrics,
  health: HealthSources,
  host: string,
  port: number,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === '/healthz') {
      const ok = health.healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'unhealthy\n');
    } else if (path === '/readyz') {
      const ok = health.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    } else {
      res.writeHead(404).end();
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    server,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
