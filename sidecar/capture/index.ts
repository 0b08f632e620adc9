/** Packet sources for the pipeline: live libpcap capture and capture-file replay. */
import type { Pipeline } from '../pipeline/pipeline.ts';
import { type ReadStats, readCaptureFile } from './pcapfile.ts';

export { kernelStatsAvailable } from './kernel-stats.ts';
export {
  CAP_SNAPLEN,
  type CaptureStats,
  type LiveCapture,
  type LiveCaptureOptions,
  listDevices,
  startLiveCapture,
} from './live.ts';
export { type PacketCallback, type ReadStats, readCaptureFile } from './pcapfile.ts';

/**
 * Replays a pcap or pcapng file through `pipeline` as fast as possible, with the file's
 * timestamps, then flushes it (connections still open at the end are emitted incomplete).
 */
export async function replayPcapFile(path: string, pipeline: Pipeline): Promise<ReadStats> {
  const stats = await readCaptureFile(path, pipeline.handlePacket);
  pipeline.flush();
  return stats;
}
