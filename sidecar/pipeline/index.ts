/**
 * The sidecar's capture pipeline: frames in, Transactions out.
 *
 *   const pipeline = createPipeline({ protocols, podIps, limits, log, onTransaction });
 *   await replayPcapFile('flows.pcap', pipeline);            // offline
 *   const live = startLiveCapture({ device: 'any', filter: 'tcp', snaplen: 65535,
 *                                   bufferSize: 8 << 20 }, pipeline);   // live
 */

export type { CaptureStats, LiveCapture, LiveCaptureOptions } from '../capture/index.ts';
export { replayPcapFile, startLiveCapture } from '../capture/index.ts';
export { registry } from '../protocols/registry.ts';
export type { ConnectionInfo, Transaction } from '../protocols/types.ts';
export { PipelineCounters, type PipelineCountersSnapshot } from './counters.ts';
export {
  createPipeline,
  DEFAULT_PIPELINE_LIMITS,
  type Pipeline,
  type PipelineLimits,
  type PipelineOptions,
} from './pipeline.ts';
