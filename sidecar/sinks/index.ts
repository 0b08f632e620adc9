/**
 * Sinks: where signals leave the sidecar, each behind one interface (sink.ts). Prometheus
 * (the registry and :2112), NDJSON on stdout, the batched exporter.
 */

export {
  type ExporterSink,
  type ExporterStats,
  type ExportSettings,
  exporterSink,
} from './exporter/index.ts';
export { ndjsonSink } from './ndjson/index.ts';
export {
  createSidecarMetrics,
  type MetricsServer,
  prometheusSink,
  type SidecarMetrics,
  startMetricsServer,
} from './prometheus/index.ts';
export { createSinks, type Sink, type SinkStats, type Sinks } from './sink.ts';
