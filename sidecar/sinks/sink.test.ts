import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Signal } from '../signal/types.ts';
import { createSinks, type Sink } from './index.ts';

function recorder(name: string, wantsJson: boolean): Sink & { got: Array<string | undefined> } {
  const got: Array<string | undefined> = [];
  return {
    name,
    wantsJson,
    got,
    write: (_signal, json) => void got.push(json),
    stats: () => ({ received: got.length, queued: 0, dropped: {} }),
    close: () => Promise.resolve(),
  };
}

function signal(onEncode: () => void): Signal {
  return {
    id: 'a',
    kind: 'system',
    timestamp: '2025-01-01T00:00:00.000Z',
    // Counts each serialization of the signal.
    cpu: {
      percent: 1,
      toJSON: () => {
        onEncode();
        return { percent: 1 };
      },
    } as { percent: number },
  };
}

test('a signal is encoded once for every sink that wants JSON, and not at all when none does', async () => {
  let encoded = 0;
  const none = recorder('prometheus', false);
  const a = recorder('ndjson', true);
  const b = recorder('exporter', true);
  const sinks = createSinks([none, undefined, a, b]);
  sinks.write(signal(() => encoded++));
  assert.equal(encoded, 1);
  assert.equal(none.got[0], undefined);
  assert.equal(
    a.got[0],
    '{"id":"a","kind":"system","timestamp":"2025-01-01T00:00:00.000Z","cpu":{"percent":1}}',
  );
  assert.equal(b.got[0], a.got[0]);

  encoded = 0;
  createSinks([recorder('prometheus', false)]).write(signal(() => encoded++));
  assert.equal(encoded, 0, 'nobody listens: no JSON');
  assert.deepEqual(Object.keys(sinks.stats()), ['prometheus', 'ndjson', 'exporter']);
  assert.equal(sinks.stats().ndjson?.received, 1);
  await sinks.close(0);
});
