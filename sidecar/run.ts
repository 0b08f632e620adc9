/**
 * The sidecar, composed: capture → pipeline (reassembly, detection, parsers; TLS decrypted
 * with the app's key log and fed to the same parsers) → signal → enrichers (built-in LLM and
 * MCP metering, then any given) → rules → Prometheus → redaction → outputs (NDJSON on stdout,
 * exporter). Everything the rules file configures that can change at run time (rules,
 * redaction, export, LLM/MCP switches, the TLS key log, WebSocket per-message signals) is
 * swapped on reload; the other capture settings and the enabled protocols apply at start.
 */
import { networkInterfaces } from 'node:os';
import type { Writable } from 'node:stream';
import type { Registry } from 'prom-client';
import { type Logger, silentLogger } from '../lib/log.ts';
import { API_KEY_PATH, SIDECAR_PORT } from '../lib/names.ts';
import type { ProtocolName, RulesFile } from '../lib/policy/types.ts';
import { type LiveCapture, replayPcapFile, startLiveCapture } from './capture/index.ts';
import {
  defaultRules,
  type LoadedRules,
  loadInitialRules,
  type RulesWatcher,
  watchRules,
} from './config/index.ts';
import { createEnrichStage, type EnrichOptions } from './enrich/index.ts';
import {
  bindReading,
  CAPTURE_METRICS,
  type CounterDef,
  type GaugeDef,
  PIPELINE_METRICS,
  type Reading,
  RULES_METRICS,
} from './metrics/index.ts';
import { createPipeline, type Pipeline } from './pipeline/index.ts';
import { createRegistry, registry as protocolRegistry } from './protocols/registry.ts';
import type { ConnectionInfo, ProtocolDefinition, Transaction } from './protocols/types.ts';
import { createRedactor, type Redactor } from './redact/index.ts';
import { compileRules, type RulesEngine } from './rules/index.ts';
import {
  boundContent,
  buildSystemSignal,
  buildTransactionSignal,
  type SignalContext,
} from './signal/index.ts';
import type { PodRef } from './signal/types.ts';
import {
  createSidecarMetrics,
  createSinks,
  type ExporterStats,
  type ExportSettings,
  exporterSink,
  type MetricsServer,
  ndjsonSink,
  prometheusSink,
  type SidecarMetrics,
  type SinkStats,
  startMetricsServer,
} from './sinks/index.ts';
import { createSystemSampler, type HostProbe, type SystemSampler } from './system/index.ts';
import { startTlsDecryption, type TlsDecryption } from './tls/index.ts';

export interface SidecarOptions extends EnrichOptions {
  /**
   * rules.yaml; without it the built-in defaults apply and nothing is watched. A path that
   * does not exist (yet) means the defaults until the file appears; an invalid file throws.
   */
  rulesPath?: string;
  /** Overrides export.backendUrl and turns export on. */
  backendUrl?: string;
  batchSize?: number;
  flushIntervalMs?: number;
  apiKeyFile?: string;
  /** AXOM_API_KEY: used when the key file is absent. Never logged. */
  apiKey?: string;
  pod?: PodRef;
  nodeName?: string;
  /** Overrides capture.interfaces (live capture). */
  interfaces?: string[];
  /** Replays this capture file instead of capturing live; the sidecar ends after it. */
  pcapFile?: string;
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
  /** Stops capture, flushes in-flight transactions and the exporter, closes the endpoint. */
  stop(): Promise<void>;
}

/** Every address of this network namespace: in a pod, the pod's own IPs (and loopback). */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) out.push(a.address.split('%')[0] as string);
  return out;
}

interface Config {
  loaded: LoadedRules;
  engine: RulesEngine;
  redactor: Redactor;
  context: SignalContext;
}

export async function runSidecar(options: SidecarOptions): Promise<Sidecar> {
  const log = options.log ?? silentLogger;
  const metrics = createSidecarMetrics();

  // --- rules: a bad file stops startup here, with the field named; a missing one (the
  // optional ConfigMap not rendered yet) means the built-in defaults until it appears -------
  const initial: LoadedRules =
    options.rulesPath !== undefined ? await loadInitialRules(options.rulesPath, log) : defaultRules();

  function configure(loaded: LoadedRules): Config {
    const r = loaded.rules;
    const context: SignalContext = {};
    if (options.pod !== undefined) context.pod = options.pod;
    if (r.policy?.name !== undefined) context.policy = r.policy.name;
    const redactor = createRedactor(r.redaction);
    return {
      loaded,
      // Rule metric labels come from the unredacted signal: the policy's redaction masks them.
      engine: compileRules(r, metrics.ruleSink, redactor.text),
      redactor,
      context,
    };
  }
  let config = configure(initial);
  metrics.rulesReload('success');

  // --- sinks ----------------------------------------------------------------------------------
  const grace = options.shutdownGraceMs ?? 10_000;
  const exporter = exporterSink({
    settings: exportSettings,
    rules: initial.rules,
    retireGraceMs: grace,
    registry: metrics.registry,
    log,
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
  });
  const sinks = createSinks([
    prometheusSink(metrics),
    options.output === 'ndjson' ? ndjsonSink(options.stdout ?? process.stdout, metrics.registry) : undefined,
    exporter,
  ]);

  function exportSettings(r: RulesFile): ExportSettings | undefined {
    const url = options.backendUrl ?? (r.export.enabled ? r.export.backendUrl : undefined);
    if (url === undefined) return undefined;
    return {
      url,
      format: r.export.format,
      compression: r.export.compression,
      batchSize: options.batchSize ?? r.export.batchSize,
      flushIntervalMs: options.flushIntervalMs ?? r.export.flushIntervalSeconds * 1000,
      maxQueueSize: r.export.maxQueueSize,
      timeoutMs: r.export.timeoutSeconds * 1000,
      apiKeyFile: options.apiKeyFile ?? r.export.apiKeyFile ?? API_KEY_PATH,
    };
  }

  // --- enrichers and the per-transaction path ----------------------------------------------------
  const enrich = createEnrichStage(
    { rules: () => config.loaded.rules, registry: metrics.registry, log },
    options,
  );
  let ruleErrors = 0;
  bindReading(metrics.registry, RULES_METRICS.errors, () => ruleErrors);

  function onTransaction(tx: Transaction, conn: ConnectionInfo): void {
    const c = config;
    const signal = buildTransactionSignal(tx, conn, c.context);
    enrich(tx, conn, signal);
    try {
      c.engine.apply(tx, signal);
    } catch (err) {
      if (ruleErrors++ === 0) log.error({ err: (err as Error).message }, 'applying rules failed');
    }
    c.redactor.signal(signal);
    // Redaction may lengthen text ("Bearer x" → "Bearer [REDACTED]"): bound content after it.
    if (signal.llm?.content !== undefined) boundContent(signal.llm.content);
    sinks.write(signal);
  }

  // --- pipeline ----------------------------------------------------------------------------------
  const r0 = initial.rules;
  const enabled = (name: ProtocolName): boolean => r0.protocols[name].enabled;
  const enabledProtocols = Object.entries(r0.protocols)
    .filter(([, t]) => t.enabled)
    .map(([name]) => name);
  // This sidecar's own registry: the TLS protocol (bound to this key log and these metrics)
  // replaces the placeholder without touching the process-wide one.
  const protocols = createRegistry(protocolRegistry.list());
  let tls: TlsDecryption | undefined;
  if (enabled('tls')) {
    // Decrypted streams go through the same parsers as cleartext: HTTP/2 (by ALPN or
    // preface), HTTP/1.1, and WebSocket after an Upgrade inside TLS.
    const inner = (['http2', 'http', 'websocket'] as const)
      .filter(enabled)
      .map((name) => protocols.get(name))
      .filter((d): d is ProtocolDefinition => d !== undefined);
    tls = startTlsDecryption({
      ...(r0.capture.tlsKeyLog !== undefined ? { keyLog: r0.capture.tlsKeyLog } : {}),
      innerProtocols: inner,
      metrics: metrics.registry,
      log: log.child({ component: 'tls' }),
    });
    protocols.register(tls.protocol);
    if (r0.capture.tlsKeyLog !== undefined)
      log.info({ keyLog: r0.capture.tlsKeyLog.path }, 'decrypting TLS with the key log');
  }
  const pipeline = createPipeline({
    protocols: protocols.select(enabledProtocols),
    podIps: options.podIps ?? localAddresses(),
    limits: {
      maxBodyBytes: r0.capture.maxBodyBytes,
      maxConnectionBufferBytes: r0.capture.connectionBufferBytes,
      maxTotalBufferBytes: r0.capture.totalBufferBytes,
      idleTimeoutMs: r0.capture.idleTimeoutSeconds * 1000,
      websocketMessages: r0.protocols.websocket.messages,
    },
    log: log.child({ component: 'pipeline' }),
    onTransaction,
  });
  bindPipelineMetrics(metrics.registry, pipeline);

  // --- rules hot reload --------------------------------------------------------------------------
  let watcher: RulesWatcher | undefined;
  if (options.rulesPath !== undefined) {
    watcher = watchRules({
      path: options.rulesPath,
      initial,
      apply(loaded) {
        const next = configure(loaded);
        config = next;
        sinks.reload(loaded.rules);
        const r = loaded.rules;
        // Read by each WebSocket session when it starts: new connections follow the reload.
        pipeline.limits.websocketMessages = r.protocols.websocket.messages;
        tls?.setKeyLog(r.capture.tlsKeyLog);
        if (startSettings(r) !== startSettings(r0))
          log.warn(
            { rules: loaded.source },
            'capture settings or enabled protocols changed: they apply when the sidecar restarts',
          );
        metrics.rulesReload('success');
      },
      onError() {
        metrics.rulesReload('error');
      },
      log,
    });
  }

  // --- system samples (live only: a replay has no host to describe) -------------------------------
  let sampler: SystemSampler | undefined;
  if (options.pcapFile === undefined && r0.system.enabled) {
    sampler = createSystemSampler({
      intervalMs: r0.system.intervalSeconds * 1000,
      gpu: r0.system.gpu,
      log,
      ...(options.systemProbe !== undefined ? { probe: options.systemProbe } : {}),
      onSample(sample, atMs) {
        sinks.write(config.redactor.signal(buildSystemSignal(atMs, sample, config.context)));
      },
    });
  }

  // --- capture -------------------------------------------------------------------------------------
  let ready: string | undefined = 'capture not started';
  let server: MetricsServer | undefined;
  const port = options.metricsPort ?? SIDECAR_PORT;
  if (port >= 0) {
    server = await startMetricsServer({
      port,
      host: options.metricsHost ?? '0.0.0.0',
      registry: metrics.registry,
      notReady: () => ready,
    });
  }

  const captures: LiveCapture[] = [];
  let replayError: Error | undefined;
  let stopping: Promise<void> | undefined;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      ready = 'stopping';
      for (const c of captures) c.close();
      // Whatever is in flight is emitted now, marked incomplete, so it can still be exported.
      pipeline.close();
      // TLS connections that ended while waiting for keys finish now (decrypted if the keys
      // came, else as their `tls` summary) rather than after the outputs have closed.
      tls?.settle();
      tls?.stop();
      sampler?.stop();
      watcher?.close();
      await sinks.close(grace);
      await server?.close();
      log.info({ transactions: pipeline.counters.transactions }, 'sidecar stopped');
      resolveDone();
    })();
    return stopping;
  }

  if (options.pcapFile !== undefined) {
    ready = undefined;
    const file = options.pcapFile;
    void (async () => {
      try {
        const stats = await replayPcapFile(file, pipeline);
        log.info(
          { file, packets: stats.packets, transactions: pipeline.counters.transactions },
          'capture file replayed',
        );
      } catch (err) {
        log.error({ file, err: (err as Error).message }, 'replay failed');
        replayError = err as Error;
      }
      await stop();
    })();
  } else {
    const devices = options.interfaces ?? r0.capture.interfaces;
    const filter = r0.capture.bpfFilter ? `tcp and (${r0.capture.bpfFilter})` : 'tcp';
    try {
      for (const device of devices) {
        captures.push(
          startLiveCapture(
            { device, filter, snaplen: r0.capture.snapLength, bufferSize: r0.capture.bufferSizeMiB << 20 },
            pipeline,
          ),
        );
      }
    } catch (err) {
      for (const c of captures) c.close();
      await stop();
      throw err;
    }
    bindReading(metrics.registry, CAPTURE_METRICS.kernelDrops, () =>
      captures.reduce((n, c) => n + c.stats().kernelDrops, 0),
    );
    ready = undefined;
    log.info(
      { devices, filter, pod: options.pod, node: options.nodeName, rules: initial.source },
      'capturing',
    );
  }
  return {
    metrics,
    metricsPort: server?.port,
    pipeline,
    done: done.then(() => {
      if (replayError !== undefined) throw replayError;
    }),
    rules: () => config.loaded,
    redactor: () => config.redactor,
    reloadRules: () => watcher?.reload() ?? Promise.resolve(),
    exporterStats: () => exporter.exporterStats(),
    sinkStats: () => sinks.stats(),
    stop,
  };
}

/** Pipeline and reassembly counters, read from the pipeline's own numbers at scrape time. */
function bindPipelineMetrics(registry: Registry, pipeline: Pipeline): void {
  const c = pipeline.counters;
  const r = c.reassembly;
  const C = CAPTURE_METRICS;
  const P = PIPELINE_METRICS;
  const bind = <L extends string>(def: CounterDef<L> | GaugeDef<L>, read: () => Reading<L>): void =>
    bindReading(registry, def, read);
  bind(C.packets, () => c.packets);
  bind(C.bytes, () => c.bytes);
  bind(C.ignoredPackets, () => c.ignoredPackets);
  bind(C.malformedPackets, () => c.malformedPackets);
  bind(C.fragments, () => c.fragments);
  bind(P.connectionsOpened, () => r.connectionsOpened);
  bind(P.connectionsEvicted, () => r.connectionsEvicted);
  bind(P.connectionsExpired, () => r.connectionsExpired);
  bind(P.connectionsUndetected, () => c.connectionsUndetected);
  bind(P.gaps, () => r.gaps);
  bind(P.gapBytes, () => r.gapBytes);
  bind(P.retransmittedBytes, () => r.retransmittedBytes);
  bind(P.transactions, () => c.transactions);
  bind(P.internalErrors, () => c.internalErrors);
  bind(P.connectionsActive, () => c.activeConnections());
  bind(P.bufferedBytes, () => r.bufferedBytes);
  bind(P.parseErrors, () =>
    [...c.parseErrorsBy.values()].map((e) => [{ protocol: e.protocol, code: e.code }, e.count] as const),
  );
  bind(P.notParsed, () =>
    [...c.notParsedBy.values()].map((e) => [{ protocol: e.protocol, reason: e.reason }, e.count] as const),
  );
  bind(P.droppedBytes, () => [
    ...[...c.droppedBy.values()].map((e) => [{ protocol: e.protocol, reason: e.reason }, e.bytes] as const),
    [{ protocol: 'tcp', reason: 'reassembly-buffer' }, r.droppedBytes] as const,
  ]);
  bind(P.dropped, () =>
    [...c.droppedBy.values()].map((e) => [{ protocol: e.protocol, reason: e.reason }, e.count] as const),
  );
}

/** The rules.yaml settings that only apply at start (capture and the enabled protocols). */
function startSettings(r: RulesFile): string {
  const { tlsKeyLog: _followsReloads, ...capture } = r.capture;
  const { websocket, ...protocols } = r.protocols;
  const { messages: _alsoFollowsReloads, ...ws } = websocket;
  return JSON.stringify({ capture, protocols: { ...protocols, websocket: ws } });
}
