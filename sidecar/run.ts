/**
 * The sidecar, wired: capture → pipeline (reassembly, parsers; TLS decrypted in front of
 * them) → signal → enrich → rules → redact → sinks. Each stage is a folder; this file reads
 * the configuration and connects them in that order. What rules.yaml configures that can
 * change at run time (rules, redaction, export, LLM/MCP switches, the TLS key log, WebSocket
 * per-message signals) follows reloads; capture settings and enabled protocols apply at start.
 */
import type { Writable } from 'node:stream';
import { type Logger, silentLogger } from '../lib/log.ts';
import { SIDECAR_PORT } from '../lib/names.ts';
import type { RulesFile } from '../lib/policy/types.ts';
import {
  type CaptureOverrides,
  captureSettings,
  defaultRules,
  type ExportOverrides,
  exportSettings,
  type LoadedRules,
  loadInitialRules,
  localAddresses,
  pipelineLimits,
  signalContext,
  systemSettings,
  watchRules,
} from './config/index.ts';
import { createEnrichStage, type EnrichOptions } from './enrich/index.ts';
import { type PacketSource, type Pipeline, startCapture, startPipeline } from './pipeline/index.ts';
import type { ConnectionInfo, Transaction } from './protocols/types.ts';
import { createRedactor, type Redactor, type RedactSignal, redactStage } from './redact/index.ts';
import { type ApplyRules, createRulesStage } from './rules/index.ts';
import { buildSystemSignal, buildTransactionSignal, type SignalContext } from './signal/index.ts';
import type { PodRef } from './signal/types.ts';
import {
  createSidecarMetrics,
  createSinks,
  type ExporterStats,
  exporterSink,
  ndjsonSink,
  prometheusSink,
  type SidecarMetrics,
  type SinkStats,
  startMetricsServer,
} from './sinks/index.ts';
import { createSystemSampler, type HostProbe, type SystemSample } from './system/index.ts';

export interface SidecarOptions extends EnrichOptions, ExportOverrides, CaptureOverrides {
  /**
   * rules.yaml; without it the built-in defaults apply and nothing is watched. A path that
   * does not exist (yet) means the defaults until the file appears; an invalid file throws.
   */
  rulesPath?: string;
  /** AXOM_API_KEY: used when the key file is absent. Never logged. */
  apiKey?: string;
  pod?: PodRef;
  nodeName?: string;
  output?: 'ndjson' | 'none';
  stdout?: Writable;
  /** 0 picks a free port; undefined is 2112; -1 serves no metrics. */
  metricsPort?: number;
  metricsHost?: string;
  /** The pod's own addresses (direction); default: every address of this network namespace. */
  podIps?: string[];
  log?: Logger;
  /** How long stop() may take to flush the exporter. */
  shutdownGraceMs?: number;
  /** Replaces the host probe of system samples (tests). */
  systemProbe?: HostProbe;
}

export interface Sidecar {
  readonly metrics: SidecarMetrics;
  readonly metricsPort: number | undefined;
  readonly pipeline: Pipeline;
  /** Resolves when the sidecar has stopped (after a replay, or after stop()). */
  readonly done: Promise<void>;
  /** The rules in force. */
  rules(): LoadedRules;
  /** The redaction in force (logs use it too). */
  redactor(): Redactor;
  reloadRules(): Promise<void>;
  exporterStats(): ExporterStats | undefined;
  /** What each sink received, holds and dropped, by sink name. */
  sinkStats(): Record<string, SinkStats>;
  /** Stops capture, flushes in-flight transactions and the sinks, closes the endpoint. */
  stop(): Promise<void>;
}

/** One rules load (rendered from the ObservationPolicy), compiled into the stages it configures. */
interface Policy {
  loaded: LoadedRules;
  context: SignalContext;
  applyRules: ApplyRules;
  redactor: Redactor;
  redact: RedactSignal;
}

export async function runSidecar(options: SidecarOptions): Promise<Sidecar> {
  const log = options.log ?? silentLogger;
  const metrics = createSidecarMetrics();
  const registry = metrics.registry;
  const grace = options.shutdownGraceMs ?? 10_000;
  // A bad rules file stops startup here, naming the field; a missing one (its optional
  // ConfigMap not rendered yet) means the built-in defaults until it appears.
  const initial =
    options.rulesPath !== undefined ? await loadInitialRules(options.rulesPath, log) : defaultRules();
  const atStart = initial.rules;

  // --- the stages after the parsers, in the order a transaction meets them ---------------
  const rules = createRulesStage({ sink: metrics.ruleSink, registry, log });
  /** Throwing refuses the load: the rules in force stay. */
  const compile = (loaded: LoadedRules): Policy => {
    const redactor = createRedactor(loaded.rules.redaction);
    // Rule metric labels come from the unredacted signal: the policy's redaction masks them.
    const applyRules = rules.compile(loaded.rules, redactor.text);
    const context = signalContext(options.pod, loaded.rules);
    return { loaded, context, applyRules, redactor, redact: redactStage(redactor) };
  };
  let policy = compile(initial);
  metrics.rulesReload('success');
  const enrich = createEnrichStage({ rules: () => policy.loaded.rules, registry, log }, options);
  const settings = (r: RulesFile) => exportSettings(options, r);
  const apiKey = options.apiKey;
  const exporter = exporterSink({ settings, rules: atStart, apiKey, retireGraceMs: grace, registry, log });
  const sinks = createSinks([
    prometheusSink(metrics),
    options.output === 'ndjson' ? ndjsonSink(options.stdout ?? process.stdout, registry) : undefined,
    exporter,
  ]);

  function onTransaction(tx: Transaction, conn: ConnectionInfo): void {
    const p = policy;
    const signal = buildTransactionSignal(tx, conn, p.context);
    enrich(tx, conn, signal);
    p.applyRules(tx, signal);
    sinks.write(p.redact(signal));
  }

  function onSample(sample: SystemSample, atMs: number): void {
    sinks.write(policy.redact(buildSystemSignal(atMs, sample, policy.context)));
  }

  // --- capture → reassembly → parsers, which emit the transactions -----------------------
  const { pipeline, tls } = startPipeline(atStart, {
    podIps: options.podIps ?? localAddresses(),
    limits: pipelineLimits(atStart),
    registry,
    log,
    onTransaction,
  });

  // --- what follows the rules file ------------------------------------------------------
  function reload(loaded: LoadedRules): void {
    policy = compile(loaded);
    sinks.reload(loaded.rules);
    // Read by each WebSocket session when it starts: new connections follow the reload.
    pipeline.limits.websocketMessages = loaded.rules.protocols.websocket.messages;
    tls?.setKeyLog(loaded.rules.capture.tlsKeyLog);
    metrics.rulesReload('success');
  }
  const path = options.rulesPath;
  const onError = (): void => metrics.rulesReload('error');
  const watcher = path === undefined ? undefined : watchRules({ path, initial, log, apply: reload, onError });

  // System samples, live only: a replay has no host to describe.
  const sampler =
    options.pcapFile === undefined && atStart.system.enabled
      ? createSystemSampler({ ...systemSettings(atStart), probe: options.systemProbe, log, onSample })
      : undefined;

  // --- the endpoint, then capture; stop in the same order --------------------------------
  let ready: string | undefined = 'capture not started';
  const port = options.metricsPort ?? SIDECAR_PORT;
  const host = options.metricsHost ?? '0.0.0.0';
  const server =
    port < 0 ? undefined : await startMetricsServer({ port, host, registry, notReady: () => ready });

  let source: PacketSource | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      ready = 'stopping';
      source?.close();
      // Whatever is in flight is emitted now, marked incomplete, so it can still be exported.
      pipeline.close();
      // TLS connections that ended while waiting for keys finish now (decrypted if the keys
      // came, else as their `tls` summary) rather than after the sinks have closed.
      tls?.settle();
      tls?.stop();
      sampler?.stop();
      watcher?.close();
      await sinks.close(grace);
      await server?.close();
      log.info({ transactions: pipeline.counters.transactions }, 'sidecar stopped');
    })());

  const about = { pod: options.pod, node: options.nodeName, rules: initial.source };
  try {
    source = startCapture(captureSettings(options, atStart), pipeline, { registry, log, about });
  } catch (err) {
    await stop();
    throw err;
  }
  ready = undefined;
  return {
    metrics,
    metricsPort: server?.port,
    pipeline,
    done: source.ended.then(stop, (err: unknown) => stop().then(() => Promise.reject(err))),
    rules: () => policy.loaded,
    redactor: () => policy.redactor,
    reloadRules: () => watcher?.reload() ?? Promise.resolve(),
    exporterStats: () => exporter.exporterStats(),
    sinkStats: () => sinks.stats(),
    stop,
  };
}
