/**
 * The sidecar's Prometheus registry. Hot-path instruments (per-transaction counters and
 * histograms) are updated directly; everything that other parts already count in plain
 * numbers (pipeline, reassembly, exporter) is bound with `collect` callbacks that read
 * those numbers at scrape time, so counting costs nothing extra when nobody scrapes.
 */
import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import { METRIC_PREFIX } from '../../lib/names.ts';
import type { ExporterStats } from '../exporter/index.ts';
import type { RuleMetricDefinition, RuleMetricHandle, RuleMetricSink } from '../rules/index.ts';
import type { SystemSignal, TransactionSignal } from '../signal/types.ts';
import { OTHER_LABEL } from './labels.ts';

const P = METRIC_PREFIX;

/** Seconds; spans loopback calls to slow LLM completions. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** A value read at scrape time: one number, or one per label set. */
export type Reading = number | ReadonlyArray<readonly [Record<string, string>, number]>;

export interface BoundMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames?: string[];
  read: () => Reading;
}

export interface SidecarMetrics {
  readonly registry: Registry;
  /** Requests and latency per protocol, for every transaction signal. */
  observeTransaction(signal: TransactionSignal): void;
  /** Counts a signal handed to the outputs. */
  signalEmitted(kind: 'transaction' | 'system'): void;
  /** Rule-defined metrics (`axom_rule_*`) and alert counts. */
  readonly ruleSink: RuleMetricSink;
  rulesReload(result: 'success' | 'error'): void;
  /** A number something else keeps, read at scrape time. */
  bind(metric: BoundMetric): void;
  bindExporter(stats: () => ExporterStats): void;
  setSystem(sample: SystemSignal): void;
}

/** Distinct label sets one rule metric may hold; rule labels come from traffic (http.path, destination.host). */
export const DEFAULT_MAX_RULE_SERIES = 1000;

export interface SidecarMetricsOptions {
  /** Per rule metric; later new label sets are recorded under `other` in every label. */
  maxRuleSeries?: number;
}

export function createSidecarMetrics(
  registry = new Registry(),
  options: SidecarMetricsOptions = {},
): SidecarMetrics {
  const maxRuleSeries = options.maxRuleSeries ?? DEFAULT_MAX_RULE_SERIES;
  const requests = new Counter({
    name: `${P}requests_total`,
    help: 'Transactions observed, by protocol, direction and outcome.',
    labelNames: ['protocol', 'direction', 'outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${P}request_duration_seconds`,
    help: 'Transaction latency from the first request byte to the last response byte.',
    labelNames: ['protocol', 'direction'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const incomplete = new Counter({
    name: `${P}requests_incomplete_total`,
    help: 'Transactions the capture saw only part of (complete: false).',
    labelNames: ['protocol'],
    registers: [registry],
  });
  const signals = new Counter({
    name: `${P}signals_total`,
    help: 'Signals emitted, by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const reloads = new Counter({
    name: `${P}rules_reload_total`,
    help: 'Rules file loads, by result.',
    labelNames: ['result'],
    registers: [registry],
  });
  const reloadErrors = new Counter({
    name: `${P}rules_reload_errors_total`,
    help: 'Rules file reloads that failed; the last good rules stayed in force.',
    registers: [registry],
  });
  const alerts = new Counter({
    name: `${P}alerts_total`,
    help: 'Alerts raised by rules.',
    labelNames: ['rule', 'alert', 'severity'],
    registers: [registry],
  });
  const ruleOverflow = new Counter({
    name: `${P}rule_series_overflow_total`,
    help: 'Rule metric values recorded under `other` because the metric already held its maximum of label sets.',
    labelNames: ['metric'],
    registers: [registry],
  });
  reloadErrors.inc(0);

  const cpu = new Gauge({
    name: `${P}system_cpu_percent`,
    help: 'CPU used, percent of the cores available.',
    registers: [registry],
  });
  const cpuCores = new Gauge({
    name: `${P}system_cpu_cores`,
    help: 'Cores available (cgroup quota or host).',
    registers: [registry],
  });
  const memUsed = new Gauge({
    name: `${P}system_memory_used_bytes`,
    help: 'Memory used.',
    registers: [registry],
  });
  const memLimit = new Gauge({
    name: `${P}system_memory_limit_bytes`,
    help: 'Memory limit (cgroup or host).',
    registers: [registry],
  });
  const gpuUtil = new Gauge({
    name: `${P}system_gpu_utilization_percent`,
    help: 'GPU utilization.',
    labelNames: ['gpu', 'name'],
    registers: [registry],
  });
  const gpuMem = new Gauge({
    name: `${P}system_gpu_memory_used_bytes`,
    help: 'GPU memory used.',
    labelNames: ['gpu', 'name'],
    registers: [registry],
  });
  const gpuMemTotal = new Gauge({
    name: `${P}system_gpu_memory_total_bytes`,
    help: 'GPU memory in total.',
    labelNames: ['gpu', 'name'],
    registers: [registry],
  });

  // Rule metrics survive reloads when their definition is unchanged (values keep counting).
  const ruleMetrics = new Map<string, { key: string; metric: Metric<string>; handle: RuleMetricHandle }>();

  function defineRuleMetric(def: RuleMetricDefinition): RuleMetricHandle {
    const key = JSON.stringify([def.type, def.help, def.labelNames, def.buckets ?? null]);
    const existing = ruleMetrics.get(def.name);
    if (existing?.key === key) return existing.handle;
    if (existing !== undefined) registry.removeSingleMetric(def.name);
    const labelNames = def.labelNames;
    const bounded = boundLabels(labelNames, maxRuleSeries, () => ruleOverflow.inc({ metric: def.name }));
    let handle: RuleMetricHandle;
    let metric: Metric<string>;
    if (def.type === 'counter') {
      const c = new Counter({ name: def.name, help: def.help, labelNames, registers: [registry] });
      handle = labelNames.length === 0 ? (v) => c.inc(v) : (v, l) => c.inc(bounded(l), v);
      metric = c;
    } else if (def.type === 'gauge') {
      const g = new Gauge({ name: def.name, help: def.help, labelNames, registers: [registry] });
      handle = labelNames.length === 0 ? (v) => g.set(v) : (v, l) => g.set(bounded(l), v);
      metric = g;
    } else {
      const h = new Histogram({
        name: def.name,
        help: def.help,
        labelNames,
        registers: [registry],
        ...(def.buckets !== undefined ? { buckets: [...def.buckets].sort((a, b) => a - b) } : {}),
      });
      handle = labelNames.length === 0 ? (v) => h.observe(v) : (v, l) => h.observe(bounded(l), v);
      metric = h;
    }
    ruleMetrics.set(def.name, { key, metric, handle });
    return handle;
  }

  const ruleSink: RuleMetricSink = {
    define: defineRuleMetric,
    retain(names) {
      for (const name of [...ruleMetrics.keys()]) {
        if (!names.has(name)) {
          registry.removeSingleMetric(name);
          ruleMetrics.delete(name);
        }
      }
    },
    alert(rule, alert, severity) {
      alerts.inc({ rule, alert, severity });
    },
  };

  function bind(m: BoundMetric): void {
    const labelNames = m.labelNames ?? [];
    const write = (set: (labels: Record<string, string>, v: number) => void, reset: () => void): void => {
      const r = m.read();
      reset();
      if (typeof r === 'number') set({}, r);
      else for (const [labels, v] of r) set(labels, v);
    };
    if (m.type === 'counter') {
      new Counter({
        name: m.name,
        help: m.help,
        labelNames,
        registers: [registry],
        collect() {
          write(
            (labels, v) => this.inc(labels, v),
            () => this.reset(),
          );
        },
      });
    } else {
      new Gauge({
        name: m.name,
        help: m.help,
        labelNames,
        registers: [registry],
        collect() {
          write(
            (labels, v) => this.set(labels, v),
            () => this.reset(),
          );
        },
      });
    }
  }

  /** The exporter's plain numbers: name suffix, help, type and the field it reads. */
  const EXPORTER_NUMBERS: ReadonlyArray<
    readonly [string, string, 'gauge' | 'counter', Exclude<keyof ExporterStats, 'failures' | 'dropped'>]
  > = [
    ['queue_signals', 'Signals waiting to be exported.', 'gauge', 'queued'],
    ['enqueued_total', 'Signals handed to the exporter.', 'counter', 'enqueued'],
    ['sent_signals_total', 'Signals the backend accepted.', 'counter', 'sentSignals'],
    ['sent_batches_total', 'Batches the backend accepted.', 'counter', 'sentBatches'],
    ['sent_bytes_total', 'Request body bytes (compressed) the backend accepted.', 'counter', 'sentBytes'],
    ['retries_total', 'Batches scheduled for another attempt.', 'counter', 'retries'],
  ];

  function bindExporter(stats: () => ExporterStats): void {
    for (const [suffix, help, type, field] of EXPORTER_NUMBERS) {
      bind({ name: `${P}exporter_${suffix}`, help, type, read: () => stats()[field] });
    }
    bind({
      name: `${P}exporter_failures_total`,
      help: 'Export requests that failed, by reason.',
      type: 'counter',
      labelNames: ['reason'],
      read: () => Object.entries(stats().failures).map(([reason, n]) => [{ reason }, n] as const),
    });
    bind({
      name: `${P}exporter_dropped_signals_total`,
      help: 'Signals dropped, by reason: queue_full (oldest first), rejected (4xx), shutdown.',
      type: 'counter',
      labelNames: ['reason'],
      read: () => Object.entries(stats().dropped).map(([reason, n]) => [{ reason }, n] as const),
    });
  }

  return {
    registry,
    observeTransaction(signal) {
      requests.inc({
        protocol: signal.protocol,
        direction: signal.direction,
        outcome: signal.outcome ?? 'unknown',
      });
      if (signal.latencyMs !== undefined) {
        latency.observe({ protocol: signal.protocol, direction: signal.direction }, signal.latencyMs / 1000);
      }
      if (!signal.complete) incomplete.inc({ protocol: signal.protocol });
    },
    signalEmitted(kind) {
      signals.inc({ kind });
    },
    ruleSink,
    rulesReload(result) {
      reloads.inc({ result });
      if (result === 'error') reloadErrors.inc();
    },
    bind,
    bindExporter,
    setSystem(sample) {
      if (sample.cpu !== undefined) {
        cpu.set(sample.cpu.percent);
        if (sample.cpu.cores !== undefined) cpuCores.set(sample.cpu.cores);
      }
      if (sample.memory !== undefined) {
        memUsed.set(sample.memory.usedBytes);
        if (sample.memory.limitBytes !== undefined) memLimit.set(sample.memory.limitBytes);
      }
      for (const g of sample.gpu ?? []) {
        const labels = { gpu: String(g.index), name: g.name ?? '' };
        if (g.utilizationPercent !== undefined) gpuUtil.set(labels, g.utilizationPercent);
        if (g.memoryUsedBytes !== undefined) gpuMem.set(labels, g.memoryUsedBytes);
        if (g.memoryTotalBytes !== undefined) gpuMemTotal.set(labels, g.memoryTotalBytes);
      }
    },
  };
}

/**
 * Label values for one rule metric, capped at `max` distinct sets: a later new set is
 * recorded with `other` in every label (one extra series) and counted by `onOverflow`.
 */
function boundLabels(
  names: string[],
  max: number,
  onOverflow: () => void,
): (values: string[]) => Record<string, string> {
  const seen = new Set<string>();
  const other: Record<string, string> = {};
  for (const n of names) other[n] = OTHER_LABEL;
  return (values) => {
    const key = values.join('\u0000');
    if (!seen.has(key)) {
      if (seen.size >= max) {
        onOverflow();
        return other;
      }
      seen.add(key);
    }
    const out: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) out[names[i] as string] = values[i] ?? '';
    return out;
  };
}
