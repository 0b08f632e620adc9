/**
 * `axom-observer operator`: the ObservationPolicy controller (leader only) and the
 * admission webhooks (every replica), with metrics and health on :8080.
 * SIGTERM/SIGINT: stop accepting admissions, stop reconciling, release the Lease, exit 0.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { commonFlags, defineCommand } from '../cli/command.ts';
import { UsageError } from '../lib/errors.ts';
import type { FlagValues } from '../lib/flags.ts';
import { createLogger, LOG_LEVELS, type Logger } from '../lib/log.ts';
import { OPERATOR_METRICS_PORT, OPERATOR_WEBHOOK_PORT } from '../lib/names.ts';
import { DEFAULT_SIDECAR_RESOURCES, quantityProblem } from '../webhook/index.ts';
import { DEFAULT_WEBHOOK_CONFIGURATION_NAME } from './certs/index.ts';
import { parseBackendPrefix } from './controller/backends.ts';
import { OperatorMetrics } from './metrics.ts';
import { startOperator } from './operator.ts';
import {
  admissionSettingsFromFlags,
  DEFAULT_WEBHOOK_TLS_SECRET,
  startWebhookServing,
  type WebhookServing,
} from './webhook.ts';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name (RFC 1123 subdomain); `optional` also lets an empty value through. */
function objectName(optional: boolean): (value: string) => string | undefined {
  return (value) => {
    if (optional && value === '') return undefined;
    return value.length <= 253 && DNS_SUBDOMAIN.test(value)
      ? undefined
      : `expected a Kubernetes object name (lowercase letters, digits, '-' and '.'), got ${JSON.stringify(value)}`;
  };
}

const flags = {
  ...commonFlags,
  kubeconfig: {
    type: 'string',
    description: 'kubeconfig file; in-cluster service-account credentials when unset',
    env: 'KUBECONFIG',
  },
  namespaces: {
    type: 'list',
    description: 'namespaces whose ObservationPolicies are managed (comma-separated); all when empty',
    env: 'AXOM_WATCH_NAMESPACES',
    default: [],
  },
  'operator-namespace': {
    type: 'string',
    description: "the operator's own namespace (Lease, central Secret, webhook certificate)",
    env: 'POD_NAMESPACE',
    default: 'axom-system',
  },
  'leader-elect': {
    type: 'boolean',
    description: 'elect a leader on a Lease so that only one replica reconciles',
    env: 'AXOM_LEADER_ELECT',
    default: true,
  },
  'lease-name': {
    type: 'string',
    description: 'name of the leader-election Lease',
    env: 'AXOM_LEASE_NAME',
    default: 'axom-observer-operator',
  },
  'lease-duration': {
    type: 'duration',
    description: 'how long a Lease holds without renewal',
    default: 15_000,
  },
  'renew-deadline': {
    type: 'duration',
    description: 'a leader that cannot renew this long steps down',
    default: 10_000,
  },
  'retry-period': {
    type: 'duration',
    description: 'how often to renew or try to acquire the Lease',
    default: 2_000,
  },
  'metrics-address': {
    type: 'string',
    description: 'host:port for /metrics, /healthz and /readyz',
    env: 'AXOM_METRICS_ADDRESS',
    default: `:${OPERATOR_METRICS_PORT}`,
  },
  webhook: {
    type: 'boolean',
    description: 'serve the admission webhooks (--no-webhook: controller only)',
    env: 'AXOM_WEBHOOK',
    default: true,
  },
  'webhook-port': {
    type: 'number',
    description: 'HTTPS port of the admission webhooks',
    env: 'AXOM_WEBHOOK_PORT',
    default: OPERATOR_WEBHOOK_PORT,
    integer: true,
    min: 0,
    max: 65535,
  },
  'webhook-url': {
    type: 'string',
    description:
      'outside-cluster mode: base HTTPS URL the API server reaches this process at; the operator registers URL-based webhook configurations itself',
    env: 'AXOM_WEBHOOK_URL',
  },
  'webhook-service': {
    type: 'string',
    description: 'Service in front of the webhook (its DNS names go into the self-signed certificate)',
    env: 'AXOM_WEBHOOK_SERVICE',
    default: 'axom-observer-webhook',
    validate: objectName(false),
  },
  // Named per release by the chart, so that two installations in one cluster keep apart.
  'mutating-webhook-name': {
    type: 'string',
    description:
      'MutatingWebhookConfiguration whose caBundle the operator keeps current (self-signed mode), or which it registers (--webhook-url)',
    env: 'AXOM_MUTATING_WEBHOOK_NAME',
    default: DEFAULT_WEBHOOK_CONFIGURATION_NAME,
    validate: objectName(false),
  },
  'validating-webhook-name': {
    type: 'string',
    description:
      'ValidatingWebhookConfiguration whose caBundle the operator keeps current or which it registers; empty: none',
    env: 'AXOM_VALIDATING_WEBHOOK_NAME',
    default: DEFAULT_WEBHOOK_CONFIGURATION_NAME,
    validate: objectName(true),
  },
  'cert-secret-name': {
    type: 'string',
    description:
      "self-signed mode: Secret in the operator's namespace that holds the webhook CA and serving certificate",
    env: 'AXOM_CERT_SECRET_NAME',
    default: DEFAULT_WEBHOOK_TLS_SECRET,
    validate: objectName(false),
  },
  'cert-mode': {
    type: 'string',
    description: 'where the webhook certificate comes from',
    env: 'AXOM_CERT_MODE',
    default: 'self-signed',
    choices: ['self-signed', 'cert-manager'],
  },
  'cert-dir': {
    type: 'string',
    description: 'cert-manager mode: directory with tls.crt, tls.key and ca.crt (reloaded on change)',
    env: 'AXOM_CERT_DIR',
    default: '/tmp/k8s-webhook-server/serving-certs',
  },
  'sidecar-image': {
    type: 'string',
    description: 'image of the injected sidecar',
    env: 'AXOM_SIDECAR_IMAGE',
    default: 'ghcr.io/axom-ai/axom-observer:latest',
  },
  'sidecar-image-pull-policy': {
    type: 'string',
    description: 'pull policy of the injected sidecar',
    env: 'AXOM_SIDECAR_IMAGE_PULL_POLICY',
    default: 'IfNotPresent',
    choices: ['Always', 'IfNotPresent', 'Never'],
  },
  'sidecar-cpu-request': {
    type: 'string',
    description: "the sidecar's CPU request unless its policy sets one (empty: none)",
    env: 'AXOM_SIDECAR_CPU_REQUEST',
    default: DEFAULT_SIDECAR_RESOURCES.requests?.cpu ?? '',
    validate: quantityProblem,
  },
  'sidecar-memory-request': {
    type: 'string',
    description: "the sidecar's memory request unless its policy sets one (empty: none)",
    env: 'AXOM_SIDECAR_MEMORY_REQUEST',
    default: DEFAULT_SIDECAR_RESOURCES.requests?.memory ?? '',
    validate: quantityProblem,
  },
  'sidecar-cpu-limit': {
    type: 'string',
    description: "the sidecar's CPU limit unless its policy sets one (empty: none)",
    env: 'AXOM_SIDECAR_CPU_LIMIT',
    default: DEFAULT_SIDECAR_RESOURCES.limits?.cpu ?? '',
    validate: quantityProblem,
  },
  'sidecar-memory-limit': {
    type: 'string',
    description: "the sidecar's memory limit unless its policy sets one (empty: none)",
    env: 'AXOM_SIDECAR_MEMORY_LIMIT',
    default: DEFAULT_SIDECAR_RESOURCES.limits?.memory ?? '',
    validate: quantityProblem,
  },
  'sidecar-log-level': {
    type: 'string',
    description: "the injected sidecar's log level (AXOM_LOG_LEVEL); the sidecar's own default when unset",
    env: 'AXOM_SIDECAR_LOG_LEVEL',
    choices: LOG_LEVELS,
  },
  'native-sidecar': {
    type: 'string',
    description: 'inject as a native sidecar (restartable init container)',
    env: 'AXOM_NATIVE_SIDECAR',
    default: 'auto',
    choices: ['auto', 'always', 'never'],
  },
  'central-secret-name': {
    type: 'string',
    description:
      "the central API-key Secret in the operator's namespace (policies with apiKey.source Central)",
    env: 'AXOM_CENTRAL_SECRET_NAME',
    default: 'axom-observer-api-key',
  },
  'central-secret-key': {
    type: 'string',
    description: 'key of the API key in the central Secret',
    env: 'AXOM_CENTRAL_SECRET_KEY',
    default: 'api-key',
  },
  'central-secret-backends': {
    type: 'list',
    description:
      'URL prefixes (e.g. https://ingest.example.com/) to which the central API key may be sent; ' +
      'a Central policy exporting elsewhere gets no key. Empty: the central key is never copied',
    env: 'AXOM_CENTRAL_SECRET_BACKENDS',
    default: [],
  },
  'excluded-namespaces': {
    type: 'list',
    description: 'namespaces never injected nor reported as uninjected',
    env: 'AXOM_EXCLUDED_NAMESPACES',
    default: ['kube-system', 'kube-public', 'kube-node-lease'],
  },
  'watch-pods': {
    type: 'boolean',
    description: 'report pods that asked for the sidecar but run without it (watches pods)',
    env: 'AXOM_WATCH_PODS',
    default: true,
  },
  workers: { type: 'number', description: 'parallel reconciles', default: 4, integer: true, min: 1, max: 64 },
  'reconcile-qps': {
    type: 'number',
    description: 'reconciles per second, all policies together',
    default: 50,
    min: 0.1,
  },
  'reconcile-burst': {
    type: 'number',
    description: 'reconciles allowed in a burst',
    default: 200,
    integer: true,
    min: 1,
  },
  'resync-period': {
    type: 'duration',
    description: 'reconcile every policy at least this often',
    default: 600_000,
  },
} as const;

export type OperatorFlags = FlagValues<typeof flags>;

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromCluster();
  } catch (err) {
    throw new UsageError(`cannot load kubeconfig ${path ?? '(in-cluster)'}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster())
    throw new UsageError(`kubeconfig ${path ?? '(in-cluster)'} names no current cluster`);
  return kc;
}

/** Resolves on the first SIGTERM or SIGINT. */
function termination(log: Logger): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      log.info({ signal: sig }, 'shutting down');
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export const command = defineCommand({
  name: 'operator',
  summary: 'run the ObservationPolicy controller and the admission webhooks',
  usage: 'axom-observer operator [options]',
  description:
    'Renders every ObservationPolicy into a rules ConfigMap and an API-key Secret, reports status, and serves the admission webhooks that inject the sidecar. Several replicas elect a leader on a Lease; all of them serve the webhooks.',
  flags,
  async run(values) {
    const log = createLogger({ level: values['log-level'] as never, name: 'operator' });
    // Sidecar settings that could only fail at the first admission are refused now (exit 2).
    if (values.webhook) admissionSettingsFromFlags(values);
    for (const prefix of values['central-secret-backends']) {
      const parsed = parseBackendPrefix(prefix);
      if (typeof parsed === 'string') throw new UsageError(`--central-secret-backends: ${parsed}`);
    }
    const kubeConfig = loadKubeConfig(values.kubeconfig);
    const stop = termination(log);

    const metrics = new OperatorMetrics({ defaultMetrics: true });
    let webhook: WebhookServing | undefined;
    if (values.webhook) webhook = await startWebhookServing(values, kubeConfig, metrics.registry, log);

    let operator: Awaited<ReturnType<typeof startOperator>>;
    try {
      operator = await startOperator({
        kubeConfig,
        logger: log,
        namespaces: values.namespaces,
        operatorNamespace: values['operator-namespace'],
        centralSecretName: values['central-secret-name'],
        centralSecretKey: values['central-secret-key'],
        centralSecretBackends: values['central-secret-backends'],
        excludedNamespaces: [...values['excluded-namespaces'], values['operator-namespace']],
        leaderElection: {
          enabled: values['leader-elect'],
          leaseName: values['lease-name'],
          leaseDurationMs: values['lease-duration'],
          renewDeadlineMs: values['renew-deadline'],
          retryPeriodMs: values['retry-period'],
        },
        metricsAddress: values['metrics-address'],
        workers: values.workers,
        qps: values['reconcile-qps'],
        burst: values['reconcile-burst'],
        resyncMs: values['resync-period'],
        watchPods: values['watch-pods'],
        webhookReady: webhook ? () => webhook.ready() : undefined,
        metrics,
      });
    } catch (err) {
      await webhook?.close();
      throw err;
    }
    log.info(
      {
        identity: operator.identity,
        leaderElection: values['leader-elect'],
        metricsPort: operator.metricsPort,
      },
      'operator started',
    );

    await stop;
    // Admissions first (the API server retries elsewhere or fails open), then the controller
    // and the Lease, so a successor can start at once.
    await webhook?.close();
    await operator.stop();
    log.info('stopped');
    log.flush?.();
    return 0;
  },
});
