/** Prometheus: the sidecar's registry and its :2112 endpoint. */

export { labelLimiter, OTHER_LABEL, UNKNOWN_LABEL } from './labels.ts';
export type { BoundMetric, Reading, SidecarMetrics } from './registry.ts';
export { createSidecarMetrics, LATENCY_BUCKETS } from './registry.ts';
export type { MetricsServer, MetricsServerOptions } from './server.ts';
export { startMetricsServer } from './server.ts';
