/**
 * `axom-observer sidecar`: runs next to the agent in its pod (same network namespace),
 * captures its traffic and publishes signals. Flags fall back to the environment the
 * webhook sets (DESIGN.md, Names); SIGTERM stops capture and flushes within the grace
 * period; `--pcap-file` replays a capture and exits once everything is flushed.
 */

import type { LevelWithSilent } from 'pino';
import { commonFlags, defineCommand } from '../cli/command.ts';
import type { FlagSpec } from '../lib/flags.ts';
import { createLogger } from '../lib/log.ts';
import { API_KEY_PATH, ENV, RULES_DIR, RULES_PATH, SIDECAR_PORT } from '../lib/names.ts';
import { createRedactor, type Redactor, redactingStream } from './redact/index.ts';
import { runSidecar, type Sidecar } from './run.ts';

const flags = {
  rules: { type: 'string', description: 'rules file (rendered from the ObservationPolicy)', env: ENV.rules },
  'backend-url': {
    type: 'string',
    description: 'export signals to this URL (overrides the rules file)',
    env: ENV.backendUrl,
  },
  'batch-size': {
    type: 'number',
    description: 'signals per export batch',
    env: ENV.batchSize,
    integer: true,
    min: 1,
    max: 10_000,
  },
  'flush-interval': {
    type: 'duration',
    description: 'longest wait before a partial batch is sent',
    env: ENV.flushInterval,
  },
  'api-key-file': {
    type: 'string',
    description: `file holding the backend API key (default: the rules file's, else ${API_KEY_PATH}; falls back to $AXOM_API_KEY)`,
  },
  'pod-name': { type: 'string', description: 'pod this sidecar observes', env: ENV.podName },
  'pod-namespace': { type: 'string', description: 'namespace of that pod', env: ENV.podNamespace },
  'node-name': { type: 'string', description: 'node the pod runs on', env: ENV.nodeName },
  interface: {
    type: 'list',
    description: 'interfaces to capture on (overrides capture.interfaces; any = all)',
    env: 'AXOM_INTERFACE',
  },
  'pcap-file': {
    type: 'string',
    description: 'replay this pcap/pcapng file instead of capturing live, then exit',
  },
  output: {
    type: 'string',
    description: 'print signals on stdout',
    default: 'none',
    choices: ['ndjson', 'none'],
    env: 'AXOM_OUTPUT',
  },
  'metrics-port': {
    type: 'number',
    description: 'port of /metrics, /healthz and /readyz (0: any free port)',
    default: SIDECAR_PORT,
    integer: true,
    min: 0,
    max: 65535,
    env: 'AXOM_METRICS_PORT',
  },
  'pod-ips': {
    type: 'list',
    description: "the pod's own addresses, for direction (default: this network namespace's)",
    env: 'AXOM_POD_IPS',
  },
  'shutdown-grace': {
    type: 'duration',
    description: 'time SIGTERM leaves to flush the exporter',
    default: 10_000,
    env: 'AXOM_SHUTDOWN_GRACE',
  },
  ...commonFlags,
} as const satisfies FlagSpec;

export const command = defineCommand({
  name: 'sidecar',
  summary: "capture this pod's traffic and publish signals (runs as the injected sidecar)",
  usage: 'axom-observer sidecar [options]',
  description: [
    "Captures the pod's TCP traffic (it shares the agent's network namespace), parses it into",
    'transactions, applies the rules file (metrics, outcomes, alerts, redaction) and publishes signals',
    'on /metrics, on stdout (--output ndjson) and to the backend. HTTPS is decrypted when the rules name',
    "the app's TLS key log (capture.tlsKeyLog); LLM and MCP calls are metered (rules: llm). The rules file",
    'is reloaded when it changes; a bad one stops startup, a bad reload keeps the last good rules, a missing',
    'one means built-in defaults until it appears (its ConfigMap is mounted optional). Default rules file:',
    `${RULES_PATH} when ${RULES_DIR} exists, else built-in defaults.`,
  ].join('\n'),
  flags,
  async run(values) {
    // Until the rules are loaded, the built-in redaction guards the logs; then the policy's.
    const builtin: Redactor = createRedactor();
    let sidecar: Sidecar | undefined;
    const log = createLogger({
      level: values['log-level'] as LevelWithSilent,
      name: 'sidecar',
      destination: redactingStream(() => sidecar?.redactor() ?? builtin, process.stderr),
    });
    // In a pod the ConfigMap volume is mounted at RULES_DIR (empty until the controller
    // renders it): watch for the file there. Elsewhere, no rules file means the defaults.
    const rulesPath = values.rules ?? ((await exists(RULES_DIR)) ? RULES_PATH : undefined);
    const pod =
      values['pod-name'] !== undefined
        ? { name: values['pod-name'], namespace: values['pod-namespace'] ?? 'default' }
        : undefined;
    sidecar = await runSidecar({
      ...(rulesPath !== undefined ? { rulesPath } : {}),
      ...(values['backend-url'] !== undefined ? { backendUrl: values['backend-url'] } : {}),
      ...(values['batch-size'] !== undefined ? { batchSize: values['batch-size'] } : {}),
      ...(values['flush-interval'] !== undefined ? { flushIntervalMs: values['flush-interval'] } : {}),
      ...(values['api-key-file'] !== undefined ? { apiKeyFile: values['api-key-file'] } : {}),
      ...(process.env[ENV.apiKey] ? { apiKey: process.env[ENV.apiKey] } : {}),
      ...(pod !== undefined ? { pod } : {}),
      ...(values['node-name'] !== undefined ? { nodeName: values['node-name'] } : {}),
      ...(values.interface !== undefined && values.interface.length > 0
        ? { interfaces: values.interface }
        : {}),
      ...(values['pcap-file'] !== undefined ? { pcapFile: values['pcap-file'] } : {}),
      output: values.output as 'ndjson' | 'none',
      metricsPort: values['metrics-port'],
      ...(values['pod-ips'] !== undefined && values['pod-ips'].length > 0
        ? { podIps: values['pod-ips'] }
        : {}),
      shutdownGraceMs: values['shutdown-grace'],
      log,
    });
    const running = sidecar;
    const onSignal = (sig: NodeJS.Signals) => {
      log.info({ signal: sig }, 'shutting down');
      void running.stop();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    try {
      await running.done;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    // Stopped and flushed; every handle (libpcap included) is closed, so the process exits.
    log.flush();
    return 0;
  },
});

async function exists(path: string): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  return access(path).then(
    () => true,
    () => false,
  );
}
