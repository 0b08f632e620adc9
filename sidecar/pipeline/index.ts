/**
 * The sidecar's capture pipeline, the stages before the signal: packets in (a capture file or
 * live capture), reassembly, protocol detection and the parsers (TLS decrypted in front of
 * those that run inside it), Transactions out.
 *
 *   const { pipeline, tls } = startPipeline(rules, { podIps, limits, registry, log, onTransaction });
 *   const source = startCapture({ file: 'flows.pcap' }, pipeline, { registry, log });
 *   await source.ended;                                        // offline
 */

export type { CaptureStats, LiveCapture, LiveCaptureOptions } from '../capture/index.ts';
export { replayPcapFile, startLiveCapture } from '../capture/index.ts';
export { registry } from '../protocols/registry.ts';
export type { ConnectionInfo, Transaction } from '../protocols/types.ts';
export { PipelineCounters, type PipelineCountersSnapshot } from './counters.ts';
export { bindPipelineMetrics } from './metrics.ts';
export {
  createPipeline,
  DEFAULT_PIPELINE_LIMITS,
  type Pipeline,
  type PipelineLimits,
  type PipelineOptions,
} from './pipeline.ts';
export { type CaptureSettings, type PacketSource, startCapture } from './source.ts';
export { type PipelineStage, type PipelineStageOptions, startPipeline } from './stage.ts';
