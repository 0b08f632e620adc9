/** Batched, retried, bounded export of signals to the backend, as a sink that follows reloads. */
export { ApiKeySource } from './apikey.ts';
export type { Exporter, ExporterOptions, ExporterStats, FailureReason, RetryOptions } from './exporter.ts';
export { backoffDelay, createExporter, emptyExporterStats, parseRetryAfter } from './exporter.ts';
export { Ring } from './ring.ts';
export { type ExporterSink, type ExporterSinkOptions, type ExportSettings, exporterSink } from './sink.ts';
