/**
 * Typed prom-client instruments from catalogue declarations. Hot-path instruments are
 * updated directly; numbers that another part already keeps (pipeline, TLS, exporter) are
 * bound with `collect` callbacks that read them at scrape time, so counting costs nothing
 * extra when nobody scrapes.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CounterDef, GaugeDef, HistogramDef, MetricDef } from './catalogue.ts';

/** A value read at scrape time: one number, or one per label set. */
export type Reading<L extends string = string> =
  | number
  | ReadonlyArray<readonly [Partial<Record<L, string>>, number]>;

/** Instruments made from each declaration, per registry. */
const made = new WeakMap<MetricDef, WeakMap<Registry, unknown>>();

/**
 * One instrument per declaration and registry: stages that share a declaration (the LLM and
 * MCP enrichers) share its series. A different declaration under a name already registered
 * still fails, as prom-client makes it.
 */
function once<M>(registry: Registry, def: MetricDef, create: () => M): M {
  let byRegistry = made.get(def);
  if (byRegistry === undefined) {
    byRegistry = new WeakMap();
    made.set(def, byRegistry);
  }
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing as M;
  const metric = create();
  byRegistry.set(registry, metric);
  return metric;
}

export function counter<L extends string>(registry: Registry, def: CounterDef<L>): Counter<L> {
  return once(
    registry,
    def,
    () =>
      new Counter<L>({ name: def.name, help: def.help, labelNames: def.labelNames, registers: [registry] }),
  );
}

export function gauge<L extends string>(registry: Registry, def: GaugeDef<L>): Gauge<L> {
  return once(
    registry,
    def,
    () => new Gauge<L>({ name: def.name, help: def.help, labelNames: def.labelNames, registers: [registry] }),
  );
}

export function histogram<L extends string>(registry: Registry, def: HistogramDef<L>): Histogram<L> {
  return once(
    registry,
    def,
    () =>
      new Histogram<L>({
        name: def.name,
        help: def.help,
        labelNames: def.labelNames,
        registers: [registry],
        ...(def.buckets !== undefined ? { buckets: [...def.buckets].sort((a, b) => a - b) } : {}),
      }),
  );
}

/** A counter or gauge whose value something else keeps: each scrape resets it and reads it. */
export function bindReading<L extends string>(
  registry: Registry,
  def: CounterDef<L> | GaugeDef<L>,
  read: () => Reading<L>,
): void {
  const config = { name: def.name, help: def.help, labelNames: def.labelNames, registers: [registry] };
  /** Resets `metric` and puts the current reading into it. */
  const write = (metric: { reset(): void }, put: (labels: Partial<Record<L, string>>, v: number) => void) => {
    const r = read();
    metric.reset();
    if (typeof r === 'number') put({}, r);
    else for (const [labels, v] of r) put(labels, v);
  };
  if (def.type === 'counter')
    new Counter<L>({
      ...config,
      collect() {
        write(this, (labels, v) => this.inc(labels, v));
      },
    });
  else
    new Gauge<L>({
      ...config,
      collect() {
        write(this, (labels, v) => this.set(labels, v));
      },
    });
}
