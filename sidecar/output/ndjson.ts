/**
 * `--output ndjson`: the same signals the exporter sends, one JSON object a line on
 * stdout. Writes never wait: when the reader falls behind by more than `maxBufferedBytes`
 * lines are dropped and counted instead of growing memory without bound.
 */
import type { Writable } from 'node:stream';

export interface NdjsonOutput {
  /** Writes one serialized signal (no newline) and returns false when it was dropped. */
  write(json: string): boolean;
  /** Resolves once everything written so far has been handed to the OS. */
  flush(): Promise<void>;
  readonly written: number;
  readonly dropped: number;
}

export function createNdjsonOutput(
  stream: Writable | NodeJS.WriteStream,
  maxBufferedBytes = 64 << 20,
): NdjsonOutput {
  let written = 0;
  let dropped = 0;
  // A reader that went away (EPIPE) ends the output, not the sidecar.
  let broken = false;
  stream.on('error', () => {
    broken = true;
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
  };
}
