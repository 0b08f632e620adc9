/**
 * The rules stage: each rules load compiled once, then applied to every signal after the
 * enrichers (outcome, extracted metrics, alerts). A rule that throws costs a count, never
 * the signal.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/log.ts';
import type { RulesFile } from '../../lib/policy/types.ts';
import { bindReading, RULES_METRICS } from '../metrics/index.ts';
import type { Transaction } from '../protocols/types.ts';
import type { TransactionSignal } from '../signal/types.ts';
import { compileRules, type LabelRedact, type RuleMetricSink } from './engine.ts';

export type ApplyRules = (tx: Transaction, signal: TransactionSignal) => void;

export interface RulesStage {
  /** Compiles a rules file; throws (naming the rule) when something does not compile. */
  compile(rules: RulesFile, redactLabel: LabelRedact): ApplyRules;
}

export function createRulesStage(deps: {
  sink: RuleMetricSink;
  registry: Registry;
  log: Logger;
}): RulesStage {
  let errors = 0;
  bindReading(deps.registry, RULES_METRICS.errors, () => errors);
  return {
    compile(rules, redactLabel) {
      const engine = compileRules(rules, deps.sink, redactLabel);
      return (tx, signal) => {
        try {
          engine.apply(tx, signal);
        } catch (err) {
          if (errors++ === 0) deps.log.error({ err: (err as Error).message }, 'applying rules failed');
        }
      };
    },
  };
}
