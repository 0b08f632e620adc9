/** The rules engine over rules.yaml: match, extract metrics, judge outcomes, raise alerts. */

export type {
  LabelRedact,
  RuleMetricDefinition,
  RuleMetricHandle,
  RuleMetricSink,
  RulesEngine,
} from './engine.ts';
export { compileRules, defaultOutcome, noopMetricSink, RULE_METRIC_PREFIX } from './engine.ts';
export { compileMatch, compileStatusSelectors } from './match.ts';
export { type ApplyRules, createRulesStage, type RulesStage } from './stage.ts';
