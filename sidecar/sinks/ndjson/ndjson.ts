/**
 * `--output ndjson`: the same signals the exporter sends, one JSON object a line on
 * stdout. Writes never wait: when the reader falls behind by more than `maxBufferedBytes`
 * lines are dropped and counted instead of growing memory without bound.
 */
import type { Writable } from 'node:stream';
import type { Registry } from 'prom-client';
import { bindReading, OUTPUT_METRICS } from '../../metrics/index.ts';
import type { Sink } from '../sink.ts';

export interface NdjsonOutput {
  /** Writes one serialized signal (no newline) and returns false when it was dropped. */
  write(json: string): boolean;
  /** Resolves once everything written so far has been handed to the OS. */
  flush(): Promise<void>;
  readonly written: number;
  readonly dropped: number;
  /** Why the stream stopped taking lines (its reader went away), if it did. */
  readonly error: string | undefined;
}

export function createNdjsonOutput(
  stream: Writable | NodeJS.WriteStream,
  maxBufferedBytes = 64 << 20,
): NdjsonOutput {
  let written = 0;
  let dropped = 0;
  // A reader that went away (EPIPE) ends the output, not the sidecar.
  let broken = false;
  let error: string | undefined;
  stream.on('error', (err: Error) => {
    broken = true;
    error = err.message;
  });
  return {
    write(json) {
      if (broken || stream.writableLength > maxBufferedBytes) {
        dropped++;
        return false;
      }
      stream.write(`${json}\n`);
      written++;
      return true;
    },
    flush() {
      if (broken || stream.writableLength === 0) return Promise.resolve();
      return new Promise((resolve) => {
        // An empty write's callback runs after everything queued before it.
        stream.write('', () => resolve());
      });
    },
    get written() {
      return written;
    },
    get dropped() {
      return dropped;
    },
    get error() {
      return error;
    },
  };
}

/** `--output ndjson` as a sink, with its line counts on /metrics. */
export function ndjsonSink(stream: Writable | NodeJS.WriteStream, registry: Registry): Sink {
  const out = createNdjsonOutput(stream);
  bindReading(registry, OUTPUT_METRICS.lines, () => out.written);
  bindReading(registry, OUTPUT_METRICS.dropped, () => out.dropped);
  return {
    name: 'ndjson',
    wantsJson: true,
    write(_signal, json) {
      out.write(json as string);
    },
    stats() {
      const stats = {
        received: out.written + out.dropped,
        queued: 0,
        dropped: { reader_behind: out.dropped },
      };
      return out.error === undefined ? stats : { ...stats, lastError: out.error };
    },
    close: () => out.flush(),
  };
}
