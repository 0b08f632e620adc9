/**
 * The sidecar's Prometheus registry: per-signal instruments (requests, latency, signals,
 * system samples), the rules file's reload counts, and the metrics the policy's rules
 * define (`axom_rule_*`, capped in label sets). Every other stage records into the same
 * registry with instruments from the catalogue.
 */
import { Registry } from 'prom-client';
import type { ExporterStats } from '../exporter/index.ts';
import type { RuleMetricDefinition, RuleMetricHandle, RuleMetricSink } from '../rules/index.ts';
import type { SystemSignal, TransactionSignal } from '../signal/types.ts';
import {
  type CounterDef,
  EXPORTER_METRICS,
  type GaugeDef,
  RULES_METRICS,
  SIGNAL_METRICS,
  SYSTEM_METRICS,
} from './catalogue.ts';
import { bindReading, counter, gauge, histogram, type Reading } from './instruments.ts';
import { OTHER_LABEL } from './labels.ts';

export { LATENCY_BUCKETS } from './catalogue.ts';
export type { Reading } from './instruments.ts';

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
  const S = SIGNAL_METRICS;
  const requests = counter(registry, S.requests);
  const latency = histogram(registry, S.duration);
  const incomplete = counter(registry, S.incomplete);
  const signals = counter(registry, S.signals);
  const reloads = counter(registry, RULES_METRICS.reloads);
  const reloadErrors = counter(registry, RULES_METRICS.reloadErrors);
  const alerts = counter(registry, RULES_METRICS.alerts);
  const ruleOverflow = counter(registry, RULES_METRICS.seriesOverflow);
  reloadErrors.inc(0);

  const Y = SYSTEM_METRICS;
  const cpu = gauge(registry, Y.cpuPercent);
  const cpuCores = gauge(registry, Y.cpuCores);
  const memUsed = gauge(registry, Y.memoryUsed);
  const memLimit = gauge(registry, Y.memoryLimit);
  const gpuUtil = gauge(registry, Y.gpuUtilization);
  const gpuMem = gauge(registry, Y.gpuMemoryUsed);
  const gpuMemTotal = gauge(registry, Y.gpuMemoryTotal);

  // Rule metrics survive reloads when their definition is unchanged (values keep counting).
  const ruleMetrics = new Map<string, { key: string; handle: RuleMetricHandle }>();

  function defineRuleMetric(def: RuleMetricDefinition): RuleMetricHandle {
    const key = JSON.stringify([def.type, def.help, def.labelNames, def.buckets ?? null]);
    const existing = ruleMetrics.get(def.name);
    if (existing?.key === key) return existing.handle;
    if (existing !== undefined) registry.removeSingleMetric(def.name);
    const { name, help, labelNames } = def;
    const bounded = boundLabels(labelNames, maxRuleSeries, () => ruleOverflow.inc({ metric: name }));
    let handle: RuleMetricHandle;
    if (def.type === 'counter') {
      const c = counter(registry, { type: 'counter', name, help, labelNames });
      handle = labelNames.length === 0 ? (v) => c.inc(v) : (v, l) => c.inc(bounded(l), v);
    } else if (def.type === 'gauge') {
      const g = gauge(registry, { type: 'gauge', name, help, labelNames });
      handle = labelNames.length === 0 ? (v) => g.set(v) : (v, l) => g.set(bounded(l), v);
    } else {
      const h = histogram(registry, {
        type: 'histogram',
        name,
        help,
        labelNames,
        ...(def.buckets !== undefined ? { buckets: def.buckets } : {}),
      });
      handle = labelNames.length === 0 ? (v) => h.observe(v) : (v, l) => h.observe(bounded(l), v);
    }
    ruleMetrics.set(def.name, { key, handle });
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
    const def: CounterDef | GaugeDef = {
      type: m.type,
      name: m.name,
      help: m.help,
      labelNames: m.labelNames ?? [],
    };
    bindReading(registry, def, m.read);
  }

  /** The exporter's plain numbers: their declarations and the field each reads. */
  const E = EXPORTER_METRICS;
  const EXPORTER_NUMBERS = [
    [E.queued, 'queued'],
    [E.enqueued, 'enqueued'],
    [E.sentSignals, 'sentSignals'],
    [E.sentBatches, 'sentBatches'],
    [E.sentBytes, 'sentBytes'],
    [E.retries, 'retries'],
  ] as const;

  function bindExporter(stats: () => ExporterStats): void {
    for (const [def, field] of EXPORTER_NUMBERS) bindReading(registry, def, () => stats()[field]);
    bindReading(registry, E.failures, () =>
      Object.entries(stats().failures).map(([reason, n]) => [{ reason }, n] as const),
    );
    bindReading(registry, E.dropped, () =>
      Object.entries(stats().dropped).map(([reason, n]) => [{ reason }, n] as const),
    );
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
