/** Prometheus: the metrics catalogue, the sidecar's registry and its :2112 endpoint. */

export * from './catalogue.ts';
export { bindReading, counter, gauge, histogram, type Reading } from './instruments.ts';
export { labelLimiter, OTHER_LABEL, UNKNOWN_LABEL } from './labels.ts';
export type { BoundMetric, SidecarMetrics } from './registry.ts';
export { createSidecarMetrics } from './registry.ts';
export type { MetricsServer, MetricsServerOptions } from './server.ts';
export { startMetricsServer } from './server.ts';
