/**
 * Prometheus: the registry every stage records into, the sink that turns signals into
 * request and system metrics, and the :2112 endpoint (/metrics, /healthz, /readyz).
 */

export type { BoundMetric, SidecarMetrics, SidecarMetricsOptions } from './metrics.ts';
export { createSidecarMetrics, DEFAULT_MAX_RULE_SERIES } from './metrics.ts';
export { createRuleMetrics } from './rules.ts';
export type { MetricsServer, MetricsServerOptions } from './server.ts';
export { startMetricsServer } from './server.ts';
export { prometheusSink } from './sink.ts';
