/**
 * The metrics a policy's rules define (`rules[].extract`, named `axom_rule_<metric>`), in
 * the registry, and the alerts they raise. Rule labels come from traffic (http.path,
 * destination.host), so each rule metric holds at most `maxSeries` label sets; past that,
 * values count under `other` in every label and the overflow is counted.
 */
import type { Registry } from 'prom-client';
import { counter, gauge, histogram, OTHER_LABEL, RULES_METRICS } from '../../metrics/index.ts';
import type { RuleMetricDefinition, RuleMetricHandle, RuleMetricSink } from '../../rules/index.ts';

/** Distinct label sets one rule metric may hold; rule labels come from traffic (http.path, destination.host). */
export const DEFAULT_MAX_RULE_SERIES = 1000;

export function createRuleMetrics(registry: Registry, maxSeries = DEFAULT_MAX_RULE_SERIES): RuleMetricSink {
  const alerts = counter(registry, RULES_METRICS.alerts);
  const overflow = counter(registry, RULES_METRICS.seriesOverflow);
  // Rule metrics survive reloads when their definition is unchanged (values keep counting).
  const defined = new Map<string, { key: string; handle: RuleMetricHandle }>();

  function define(def: RuleMetricDefinition): RuleMetricHandle {
    const key = JSON.stringify([def.type, def.help, def.labelNames, def.buckets ?? null]);
    const existing = defined.get(def.name);
    if (existing?.key === key) return existing.handle;
    if (existing !== undefined) registry.removeSingleMetric(def.name);
    const { name, help, labelNames } = def;
    const bounded = boundLabels(labelNames, maxSeries, () => overflow.inc({ metric: name }));
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
    defined.set(def.name, { key, handle });
    return handle;
  }

  return {
    define,
    retain(names) {
      for (const name of [...defined.keys()]) {
        if (!names.has(name)) {
          registry.removeSingleMetric(name);
          defined.delete(name);
        }
      }
    },
    alert(rule, alert, severity) {
      alerts.inc({ rule, alert, severity });
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
