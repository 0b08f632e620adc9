/** rules.yaml: load at startup, hot reload when the mounted ConfigMap changes. */

export type { LoadedRules, RulesWatcher, RulesWatcherOptions } from './loader.ts';
export { DEFAULTS_SOURCE, defaultRules, loadInitialRules, loadRulesFile, watchRules } from './loader.ts';
