/**
 * The operator process minus its command line: metrics/health server, leader election and,
 * while leading, the policy controller. The admission webhook is started by the caller
 * (operator/command.ts) and reported here only for readiness, because every replica serves
 * it whether it leads or not.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import type { ControllerOptions } from './controller/controller.ts';
import { PolicyController } from './controller/controller.ts';
import { EventRecorder } from './controller/events.ts';
import { KubeClient } from './kube/client.ts';
import { LeaderElector } from './leader/lease.ts';
import { OperatorMetrics, startMetricsServer } from './metrics.ts';

export interface OperatorConfig {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Namespaces whose policies are managed; empty = all. */
  namespaces: readonly string[];
  /** Where the operator runs: the Lease and the central Secret live here. */
  operatorNamespace: string;
  centralSecretName: string;
  centralSecretKey: string;
  /**
   * URL prefixes that may receive the central key (`--central-secret-backends`); unset or
   * empty: the central key is never copied.
   */
  centralSecretBackends?: readonly string[];
  excludedNamespaces: readonly string[];
  leaderElection: {
    enabled: boolean;
    leaseName: string;
    identity?: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /** `host:port` for /metrics, /healthz and /readyz; port 0 picks a free one; undefined = no server. */
  metricsAddress?: string;
  workers?: number;
  qps?: number;
  burst?: number;
  resyncMs?: number;
  watchPods?: boolean;
  /** Readiness of the admission webhook, when this process serves it. */
  webhookReady?: () => boolean;
  /** Shared with the webhook server (its metrics go into the same registry). */
  metrics?: OperatorMetrics;
  /** Tuning for tests. */
  controller?: Partial<Pick<ControllerOptions, 'retryBackoff' | 'watchBackoff'>>;
}

export interface Operator {
  readonly client: KubeClient;
  readonly metrics: OperatorMetrics;
  readonly identity: string;
  /** Bound port of the metrics server (0 when none). */
  readonly metricsPort: number;
  isLeader(): boolean;
  /** The controller of the current leadership term, if leading. */
  controller(): PolicyController | undefined;
  ready(): boolean;
  stop(): Promise<void>;
}

export function parseHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = i > 0 ? address.slice(0, i).replace(/^\[|\]$/g, '') : '0.0.0.0';
  const port = Number(address.slice(i + 1));
  return { host: host || '0.0.0.0', port };
}

export async function startOperator(config: OperatorConfig): Promise<Operator> {
  const { logger } = config;
  const metrics = config.metrics ?? new OperatorMetrics();
  const client = new KubeClient(config.kubeConfig);
  client.observe((verb, resource, code) => metrics.apiRequests.inc({ verb, resource, code: String(code) }));
  const events = new EventRecorder(client, logger, { onDrop: (why) => metrics.eventsDropped.inc({ why }) });
  const identity =
    config.leaderElection.identity ?? `${hostname()}_${process.pid}_${randomBytes(4).toString('hex')}`;

  let current: PolicyController | undefined;
  let termAbort: AbortController | undefined;
  let chain: Promise<void> = Promise.resolve();
  let stopping = false;

  const controllerOptions: ControllerOptions = {
    client,
    logger,
    metrics,
    events,
    namespaces: config.namespaces,
    central: {
      namespace: config.operatorNamespace,
      name: config.centralSecretName,
      key: config.centralSecretKey,
      allowedBackends: config.centralSecretBackends ?? [],
    },
    excludedNamespaces: config.excludedNamespaces,
    workers: config.workers,
    qps: config.qps,
    burst: config.burst,
    resyncMs: config.resyncMs,
    watchPods: config.watchPods ?? true,
    ...config.controller,
  };

  // Leadership changes are serialized: a new term starts only after the last one stopped.
  const startTerm = (): void => {
    chain = chain.then(async () => {
      if (stopping || current) return;
      metrics.leader.set(1);
      termAbort = new AbortController();
      current = new PolicyController(controllerOptions);
      try {
        await current.start(termAbort.signal);
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'controller failed to start');
      }
    });
  };
  const stopTerm = (): Promise<void> => {
    // Abort at once: a term still waiting for its caches (API server away) must not hold
    // up the stop queued behind it.
    termAbort?.abort();
    chain = chain.then(async () => {
      metrics.leader.set(0);
      termAbort?.abort();
      const c = current;
      current = undefined;
      await c?.stop();
    });
    return chain;
  };

  let elector: LeaderElector | undefined;
  if (config.leaderElection.enabled) {
    elector = new LeaderElector({
      client,
      namespace: config.operatorNamespace,
      name: config.leaderElection.leaseName,
      identity,
      leaseDurationMs: config.leaderElection.leaseDurationMs,
      renewDeadlineMs: config.leaderElection.renewDeadlineMs,
      retryPeriodMs: config.leaderElection.retryPeriodMs,
      logger,
      onStartedLeading: startTerm,
      onStoppedLeading: stopTerm,
    });
    elector.start();
  } else {
    startTerm();
  }

  const isLeader = (): boolean => (elector ? elector.isLeader : !stopping);
  // With leader election, readiness must not follow leadership (every replica serves the
  // webhook); a single replica is ready once its caches are synced.
  const ready = (): boolean =>
    (config.webhookReady?.() ?? true) && (elector ? true : (current?.hasSynced ?? false));

  let server: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  if (config.metricsAddress) {
    const { host, port } = parseHostPort(config.metricsAddress);
    server = await startMetricsServer(metrics, { healthy: () => !stopping, ready }, host, port);
    logger.info({ address: `${host}:${server.port}` }, 'metrics and health listening');
  }

  return {
    client,
    metrics,
    identity,
    metricsPort: server?.port ?? 0,
    isLeader,
    controller: () => current,
    ready,
    async stop() {
      stopping = true;
      if (elector) await elector.stop(true);
      await stopTerm();
      await events.flush();
      await server?.close();
      await client.close();
    },
  };
}
