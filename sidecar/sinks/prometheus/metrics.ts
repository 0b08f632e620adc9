/**
 * The sidecar's Prometheus registry, which every stage records into with instruments from
 * the catalogue, and the Prometheus sink's own instruments: per-signal requests, latency and
 * counts, system samples, the rules file's reloads, and the metrics the policy's rules
 * define (rules.ts).
 */
import { Registry } from 'prom-client';
import {
  bindReading,
  type CounterDef,
  counter,
  type GaugeDef,
  gauge,
  histogram,
  type Reading,
  RULES_METRICS,
  SIGNAL_METRICS,
  SYSTEM_METRICS,
} from '../../metrics/index.ts';
import type { RuleMetricSink } from '../../rules/index.ts';
import type { SystemSignal, TransactionSignal } from '../../signal/types.ts';
import { createRuleMetrics, DEFAULT_MAX_RULE_SERIES } from './rules.ts';

export { DEFAULT_MAX_RULE_SERIES } from './rules.ts';

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
  setSystem(sample: SystemSignal): void;
}

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
  reloadErrors.inc(0);
  const ruleSink = createRuleMetrics(registry, maxRuleSeries);

  const Y = SYSTEM_METRICS;
  const cpu = gauge(registry, Y.cpuPercent);
  const cpuCores = gauge(registry, Y.cpuCores);
  const memUsed = gauge(registry, Y.memoryUsed);
  const memLimit = gauge(registry, Y.memoryLimit);
  const gpuUtil = gauge(registry, Y.gpuUtilization);
  const gpuMem = gauge(registry, Y.gpuMemoryUsed);
  const gpuMemTotal = gauge(registry, Y.gpuMemoryTotal);

  function bind(m: BoundMetric): void {
    const def: CounterDef | GaugeDef = {
      type: m.type,
      name: m.name,
      help: m.help,
      labelNames: m.labelNames ?? [],
    };
    bindReading(registry, def, m.read);
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
