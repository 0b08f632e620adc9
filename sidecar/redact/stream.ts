/**
 * A log destination that redacts each line before it reaches the real one, so that a
 * key-like string in an error message or a logged header never leaves the process.
 */
import { Writable } from 'node:stream';
import type { Redactor } from './redactor.ts';

export function redactingStream(redactor: () => Redactor, destination: NodeJS.WritableStream): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      const line = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      destination.write(redactor().text(line));
      callback();
    },
  });
}
