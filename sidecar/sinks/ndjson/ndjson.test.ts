import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createNdjsonOutput } from './index.ts';

test('one line per signal; flush waits for the stream', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      setImmediate(cb);
    },
  });
  const out = createNdjsonOutput(sink);
  out.write('{"id":"a"}');
  out.write('{"id":"b"}');
  await out.flush();
  assert.deepEqual(lines.join('').split('\n'), ['{"id":"a"}', '{"id":"b"}', '']);
  assert.equal(out.written, 2);
});

test('a reader that stops reading costs dropped lines, counted, not memory', async () => {
  let release: (() => void) | undefined;
  const sink = new Writable({
    highWaterMark: 16,
    write(_chunk, _e, cb) {
      release = cb;
    },
  });
  const out = createNdjsonOutput(sink, 100);
  let accepted = 0;
  for (let i = 0; i < 1000; i++) if (out.write(`{"id":"${i}","pad":"${'x'.repeat(20)}"}`)) accepted++;
  assert.ok(accepted < 10, `accepted ${accepted}`);
  assert.equal(out.dropped, 1000 - accepted);
  assert.ok(sink.writableLength < 200);
  sink.destroy();
  release?.();
});
