import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { CaptureError } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import { TcpFlow, writePcap } from '../../test/harness/pcap.ts';
import { createPipeline, type Transaction } from './index.ts';
import { startCapture } from './source.ts';

test('a capture file is replayed once: the source ends after it; a file that is not a capture rejects', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'axom-source-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const flow = new TcpFlow({ client: ['10.1.0.5', 40000], server: ['10.9.0.1', 80] }).handshake();
  flow.send('client', 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n').advance(3);
  flow.send('server', 'HTTP/1.1 204 No Content\r\n\r\n').close();
  const file = join(dir, 'flow.pcap');
  writePcap(file, flow.linkType, flow.packets);
  const seen: Transaction[] = [];
  const pipeline = createPipeline({ onTransaction: (tx) => seen.push(tx) });
  const deps = { registry: new Registry(), log: silentLogger };
  await startCapture({ file }, pipeline, deps).ended;
  assert.deepEqual(
    seen.map((tx) => [tx.http?.path, tx.status]),
    [['/a', 204]],
  );

  const garbage = join(dir, 'garbage.pcap');
  await writeFile(garbage, 'not a capture at all');
  await assert.rejects(
    startCapture({ file: garbage }, createPipeline({ onTransaction: () => {} }), deps).ended,
    CaptureError,
  );
});

test('live capture on no interface ends when closed', async () => {
  const source = startCapture(
    { devices: [], live: { filter: 'tcp', snaplen: 65535, bufferSize: 1 << 20 } },
    createPipeline({ onTransaction: () => {} }),
    { registry: new Registry(), log: silentLogger },
  );
  source.close();
  await source.ended;
});
