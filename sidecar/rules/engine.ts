/**
 * The rules engine: a RulesFile compiled once per load (regexes, JSONPaths, CEL programs,
 * label getters, metric handles) into `apply`, which runs per transaction after the
 * enrichers and before redaction:
 *   match → outcome (first rule that decides, else an enricher's, else the protocol default) → extract
 *   (Prometheus and signal.metrics) → alerts (CEL over the signal, metrics included).
 */
// Before any policy regex is compiled: a bound on backtracking over untrusted bodies.
import '../../lib/regex-safety.ts';
import { compileCondition } from '../../lib/policy/cel.ts';
import type { Extract, OutcomeWhen, Rule, RulesFile } from '../../lib/policy/types.ts';
import type { Transaction } from '../protocols/types.ts';
import { createRedactor } from '../redact/index.ts';
import type { Alert, TransactionSignal } from '../signal/types.ts';
import { compileValueReader, PayloadView, type ValueReader } from './extract.ts';
import { compileField, type FieldGetter } from './fields.ts';
import { compileMatch, compileStatusSelectors, type Predicate } from './match.ts';

/** Prefix of every metric a rule defines (DESIGN.md: `axom_`; rules' own under `axom_rule_`). */
export const RULE_METRIC_PREFIX = 'axom_rule_';

export interface RuleMetricDefinition {
  /** Full Prometheus name, `axom_rule_<metric>`. */
  name: string;
  type: Extract['type'];
  help: string;
  labelNames: string[];
  buckets?: number[];
}

/** Records one value with label values in `labelNames` order. */
export type RuleMetricHandle = (value: number, labelValues: string[]) => void;

/** Where rule metrics go (the Prometheus registry); a no-op sink when nobody listens. */
export interface RuleMetricSink {
  define(def: RuleMetricDefinition): RuleMetricHandle;
  /** Called after a load with the names still defined, so stale metrics can go. */
  retain(names: ReadonlySet<string>): void;
  /** Counts an alert raised. */
  alert?(rule: string, alert: string, severity: Alert['severity']): void;
}

export const noopMetricSink: RuleMetricSink = {
  define: () => () => {},
  retain: () => {},
};

interface CompiledExtract {
  metric: string;
  type: Extract['type'];
  read: ValueReader | undefined;
  labels: FieldGetter[];
  record: RuleMetricHandle;
}

interface CompiledOutcome {
  status: ((s: number | string | undefined) => boolean) | undefined;
  body: RegExp | undefined;
}

interface CompiledAlert {
  rule: string;
  name: string;
  severity: Alert['severity'];
  message: string;
  test: (signal: object) => boolean;
}

interface CompiledRule {
  name: string;
  match: Predicate;
  failure: CompiledOutcome | undefined;
  success: CompiledOutcome | undefined;
  extracts: CompiledExtract[];
  alerts: CompiledAlert[];
}

export interface RulesEngine {
  readonly ruleCount: number;
  /** Applies every rule to one transaction's signal, in place. */
  apply(tx: Transaction, signal: TransactionSignal): void;
}

function compileOutcome(when: OutcomeWhen | undefined): CompiledOutcome | undefined {
  if (when === undefined || (when.status === undefined && when.bodyRegex === undefined)) return undefined;
  return {
    status: when.status?.length ? compileStatusSelectors(when.status) : undefined,
    body: when.bodyRegex !== undefined ? new RegExp(when.bodyRegex) : undefined,
  };
}

/** Any of the given conditions means this outcome (status listed, or body matches). */
function holds(o: CompiledOutcome, signal: TransactionSignal, view: () => PayloadView): boolean {
  if (o.status?.(signal.status)) return true;
  if (o.body !== undefined) {
    const text = view().text(1);
    if (text !== undefined && o.body.test(text)) return true;
  }
  return false;
}

/** Without a deciding rule: HTTP 1xx-3xx, gRPC 0 and SQL `ok` succeed; other known statuses fail. */
export function defaultOutcome(signal: TransactionSignal): NonNullable<TransactionSignal['outcome']> {
  const status = signal.status;
  if (signal.grpc !== undefined || signal.protocol === 'grpc') {
    const code = signal.grpc?.statusCode ?? (typeof status === 'number' ? status : undefined);
    return code === undefined ? 'unknown' : code === 0 ? 'success' : 'failure';
  }
  if (typeof status === 'number') return status >= 100 && status < 400 ? 'success' : 'failure';
  if (status === 'ok') return 'success';
  if (typeof status === 'string' && status !== '') return 'failure';
  if (signal.websocket?.closeCode !== undefined) {
    const c = signal.websocket.closeCode;
    return c === 1000 || c === 1001 || c === 1005 ? 'success' : 'failure';
  }
  return 'unknown';
}

/** Masks secrets in a label value (the policy's redaction's `text`). */
export type LabelRedact = (value: string) => string;

function compileRule(
  rule: Rule,
  sink: RuleMetricSink,
  defined: Set<string>,
  redact: LabelRedact,
): CompiledRule {
  const extracts = (rule.extract ?? []).map((ex): CompiledExtract => {
    const labelNames = Object.keys(ex.labels ?? {});
    const name = RULE_METRIC_PREFIX + ex.metric;
    defined.add(name);
    return {
      metric: ex.metric,
      type: ex.type,
      read: compileValueReader(ex),
      labels: labelNames.map((l) => {
        // Rules run before the signal is redacted, and label values leave the process on
        // /metrics: a path or operation carrying `?api_key=…` must be masked here.
        const get = compileField((ex.labels as Record<string, string>)[l] as string);
        return (s: TransactionSignal) => {
          const v = get(s);
          return v === '' ? v : redact(v);
        };
      }),
      record: sink.define({
        name,
        type: ex.type,
        help: ex.help ?? `${ex.metric}, extracted by rule ${rule.name}`,
        labelNames,
        ...(ex.buckets !== undefined ? { buckets: ex.buckets } : {}),
      }),
    };
  });
  const alerts = (rule.alerts ?? []).map((a): CompiledAlert => {
    const condition = compileCondition(a.condition);
    return {
      rule: rule.name,
      name: a.name,
      severity: a.severity,
      message: a.message ?? `${a.name}: ${a.condition}`,
      test: (s) => condition.test(s),
    };
  });
  return {
    name: rule.name,
    match: compileMatch(rule.match),
    failure: compileOutcome(rule.outcome?.failure),
    success: compileOutcome(rule.outcome?.success),
    extracts,
    alerts,
  };
}

/** Compiles every rule; throws (naming the rule) if anything does not compile. */
export function compileRules(
  file: Pick<RulesFile, 'rules'>,
  sink: RuleMetricSink = noopMetricSink,
  /** Redaction for label values; the built-in one when not given (never none). */
  redact: LabelRedact = createRedactor().text,
): RulesEngine {
  const defined = new Set<string>();
  const rules = file.rules.map((rule, i) => {
    try {
      return compileRule(rule, sink, defined, redact);
    } catch (err) {
      throw new Error(`rules[${i}] (${rule.name}): ${(err as Error).message}`, { cause: err });
    }
  });
  sink.retain(defined);
  const matched: CompiledRule[] = [];

  function apply(tx: Transaction, signal: TransactionSignal): void {
    let view: PayloadView | undefined;
    const getView = (): PayloadView => {
      view ??= new PayloadView(tx);
      return view;
    };
    matched.length = 0;
    for (const r of rules) if (r.match(signal)) matched.push(r);

    let outcome: TransactionSignal['outcome'];
    for (const r of matched) {
      if (r.failure !== undefined && holds(r.failure, signal, getView)) {
        outcome = 'failure';
        break;
      }
      if (r.success !== undefined && holds(r.success, signal, getView)) {
        outcome = 'success';
        break;
      }
    }
    // A rule that decides wins; otherwise an outcome an enricher already set (an error
    // inside a 200 stream, a JSON-RPC error) stands, and only then the status-based default.
    signal.outcome = outcome ?? signal.outcome ?? defaultOutcome(signal);

    for (const r of matched) {
      for (const ex of r.extracts) {
        const value = ex.read === undefined ? 1 : ex.read(getView());
        if (value === undefined) continue;
        if (ex.type === 'counter' && value < 0) continue;
        signal.metrics ??= {};
        signal.metrics[ex.metric] = value;
        const labels = ex.labels.length === 0 ? EMPTY : ex.labels.map((get) => get(signal));
        ex.record(value, labels);
      }
    }

    for (const r of matched) {
      for (const a of r.alerts) {
        if (!a.test(signal)) continue;
        signal.alerts ??= [];
        signal.alerts.push({ rule: a.name, severity: a.severity, message: a.message });
        sink.alert?.(a.rule, a.name, a.severity);
      }
    }
  }

  return { ruleCount: rules.length, apply };
}

const EMPTY: string[] = [];
