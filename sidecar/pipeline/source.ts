/**
 * Where the pipeline's packets come from: a capture file replayed once, as fast as it reads
 * (the sidecar ends after it), or live capture on each configured interface, whose kernel
 * drops are on /metrics.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/log.ts';
import {
  type LiveCapture,
  type LiveCaptureOptions,
  replayPcapFile,
  startLiveCapture,
} from '../capture/index.ts';
import { bindReading, CAPTURE_METRICS } from '../metrics/index.ts';
import type { Pipeline } from './pipeline.ts';

/** A capture file to replay once, or live capture on each device with the same settings. */
export type CaptureSettings =
  | { file: string }
  | { devices: readonly string[]; live: Omit<LiveCaptureOptions, 'device'> };

export interface PacketSource {
  /** Settles when the source has ended: a replay finished (rejected if it failed), or close(). */
  readonly ended: Promise<void>;
  close(): void;
}

export interface CaptureDeps {
  registry: Registry;
  log: Logger;
  /** What this sidecar runs for (pod, node, rules file), logged when live capture starts. */
  about?: object;
}

/** Starts the source; a live interface that cannot be opened throws (the others are closed). */
export function startCapture(settings: CaptureSettings, pipeline: Pipeline, deps: CaptureDeps): PacketSource {
  const log = deps.log;
  if ('file' in settings) {
    const file = settings.file;
    const ended = replayPcapFile(file, pipeline).then(
      (stats) =>
        log.info(
          { file, packets: stats.packets, transactions: pipeline.counters.transactions },
          'capture file replayed',
        ),
      (err: Error) => {
        log.error({ file, err: err.message }, 'replay failed');
        throw err;
      },
    );
    return { ended, close: () => {} };
  }
  const captures: LiveCapture[] = [];
  try {
    for (const device of settings.devices)
      captures.push(startLiveCapture({ device, ...settings.live }, pipeline));
  } catch (err) {
    for (const c of captures) c.close();
    throw err;
  }
  bindReading(deps.registry, CAPTURE_METRICS.kernelDrops, () =>
    captures.reduce((n, c) => n + c.stats().kernelDrops, 0),
  );
  log.info({ devices: settings.devices, filter: settings.live.filter, ...deps.about }, 'capturing');
  const { promise: ended, resolve } = Promise.withResolvers<void>();
  return {
    ended,
    close() {
      for (const c of captures) c.close();
      resolve();
    },
  };
}
