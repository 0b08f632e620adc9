/**
 * Configuration: rules.yaml (loaded at startup, hot-reloaded when the mounted ConfigMap
 * changes) and the settings each stage takes from it and from the command line.
 */

export type { LoadedRules, RulesWatcher, RulesWatcherOptions } from './loader.ts';
export { DEFAULTS_SOURCE, defaultRules, loadInitialRules, loadRulesFile, watchRules } from './loader.ts';
export {
  type CaptureOverrides,
  captureSettings,
  type ExportOverrides,
  exportSettings,
  localAddresses,
  pipelineLimits,
  restartNeeded,
  signalContext,
  systemSettings,
} from './settings.ts';
