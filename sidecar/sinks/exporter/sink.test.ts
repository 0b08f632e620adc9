import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../lib/log.ts';
import { defaultRulesFile } from '../../../lib/policy/index.ts';
import type { RulesFile } from '../../../lib/policy/types.ts';
import type { Signal } from '../../signal/types.ts';
import { type ExportSettings, exporterSink } from './index.ts';

/** A real backend on loopback that keeps the signal ids it accepted. */
async function backend(t: {
  after: (fn: () => Promise<void>) => void;
}): Promise<{ url: string; ids: string[] }> {
  const ids: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      for (const s of JSON.parse(Buffer.concat(chunks).toString()) as Array<{ id: string }>) ids.push(s.id);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/signals`, ids };
}

const rulesTo = (url: string): RulesFile => {
  const r = defaultRulesFile();
  return { ...r, export: { ...r.export, enabled: true, backendUrl: url } };
};

const settings = (r: RulesFile): ExportSettings | undefined =>
  r.export.enabled && r.export.backendUrl !== undefined
    ? {
        url: r.export.backendUrl,
        format: 'json',
        compression: 'none',
        // Nothing leaves before close or a reload: the queue is what must carry over.
        batchSize: 100,
        flushIntervalMs: 60_000,
        maxQueueSize: 100,
        timeoutMs: 5000,
        apiKeyFile: undefined,
      }
    : undefined;

const signal = (id: string): Signal => ({ id, kind: 'system', timestamp: '2025-01-01T00:00:00.000Z' });

test('a reload that moves the backend: the retired exporter flushes to the old one and its counts carry over', async (t) => {
  const a = await backend(t);
  const b = await backend(t);
  const registry = new Registry();
  const sink = exporterSink({
    settings,
    rules: rulesTo(a.url),
    retireGraceMs: 5000,
    registry,
    log: silentLogger,
  });
  assert.equal(sink.wantsJson, true);
  for (const id of ['a1', 'a2', 'a3']) sink.write(signal(id), JSON.stringify(signal(id)));

  sink.reload?.(rulesTo(b.url));
  // The retired exporter is still flushing: its signals count in the totals all the while.
  assert.equal(sink.stats().received, 3);
  assert.match(await registry.metrics(), /^axom_exporter_enqueued_total 3$/m);
  for (const id of ['b1', 'b2']) sink.write(signal(id), JSON.stringify(signal(id)));
  await sink.close(5000);

  assert.deepEqual(a.ids, ['a1', 'a2', 'a3']);
  assert.deepEqual(b.ids, ['b1', 'b2']);
  assert.equal(sink.exporterStats()?.enqueued, 5);
  assert.equal(sink.exporterStats()?.sentSignals, 5);
  assert.deepEqual(sink.stats(), {
    received: 5,
    queued: 0,
    dropped: { queue_full: 0, rejected: 0, shutdown: 0 },
  });
  assert.match(await registry.metrics(), /^axom_exporter_sent_signals_total 5$/m);

  // Export turned off: no JSON wanted, nothing exported, the totals stay.
  sink.reload?.(defaultRulesFile());
  assert.equal(sink.wantsJson, false);
  assert.equal(sink.exporterStats(), undefined);
  assert.match(await registry.metrics(), /^axom_exporter_enqueued_total 5$/m);
});
