import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { KeyLogStore, KeyLogTailer, parseKeyLogLine } from './keylog.ts';
import { registerTlsMetrics } from './metrics.ts';
import { newTlsStats } from './stats.ts';

const CR = 'a'.repeat(64);
const SECRET32 = '1f'.repeat(32);
const MASTER = '2e'.repeat(48);

test('parse: labels, comments and every kind of garbage', () => {
  const ok = parseKeyLogLine(`CLIENT_RANDOM ${CR} ${MASTER}`);
  assert.ok(typeof ok === 'object');
  assert.equal(ok.label, 'CLIENT_RANDOM');
  assert.equal(ok.secret.length, 48);
  assert.ok(typeof parseKeyLogLine(`SERVER_TRAFFIC_SECRET_0 ${CR.toUpperCase()} ${SECRET32}\r`) === 'object');
  assert.equal(parseKeyLogLine('# SSL/TLS secrets log file'), 'comment');
  assert.equal(parseKeyLogLine(''), 'comment');
  assert.equal(parseKeyLogLine('CLIENT_RANDOM onlytwo'), 'malformed');
  assert.equal(parseKeyLogLine(`RSA ${CR} ${SECRET32}`), 'unknown-label');
  assert.equal(parseKeyLogLine(`CLIENT_RANDOM ${'zz'.repeat(32)} ${MASTER}`), 'bad-hex');
  assert.equal(parseKeyLogLine(`CLIENT_RANDOM ${CR.slice(2)} ${MASTER}`), 'bad-length');
  assert.equal(parseKeyLogLine(`CLIENT_RANDOM ${CR} ${SECRET32}`), 'bad-length');
  assert.equal(parseKeyLogLine(`CLIENT_TRAFFIC_SECRET_0 ${CR} ${'ab'.repeat(20)}`), 'bad-length');
});

test('store: waitFor resolves when the last needed secret arrives, once', () => {
  const store = new KeyLogStore();
  const random = Buffer.from(CR, 'hex');
  const calls: Array<number | undefined> = [];
  store.waitFor(
    random,
    (s) => s.CLIENT_RANDOM !== undefined,
    60_000,
    (s) => calls.push(s?.CLIENT_RANDOM?.length),
  );
  assert.deepEqual(calls, []);
  store.ingestLine(`EXPORTER_SECRET ${CR} ${SECRET32}`);
  assert.deepEqual(calls, []);
  store.ingestLine(`CLIENT_RANDOM ${CR} ${MASTER}`);
  store.ingestLine(`CLIENT_RANDOM ${CR} ${MASTER}`);
  assert.deepEqual(calls, [48]);
  assert.equal(store.stats.waitsSatisfied, 1);
});

test('store: waitFor gives up after its deadline with what it has', async () => {
  const store = new KeyLogStore();
  const got = await new Promise((resolve) => store.waitFor(Buffer.from(CR, 'hex'), () => false, 1, resolve));
  assert.equal(got, undefined);
  assert.equal(store.stats.waitsTimedOut, 1);
});

test('store: release wipes the secret buffers; full store evicts the oldest', () => {
  const store = new KeyLogStore({ maxEntries: 2 });
  store.ingestLine(`CLIENT_RANDOM ${CR} ${MASTER}`);
  const secret = store.get(Buffer.from(CR, 'hex'))!.CLIENT_RANDOM!;
  store.release(Buffer.from(CR, 'hex'));
  assert.ok(secret.every((b) => b === 0));
  assert.equal(store.size, 0);
  for (const c of ['01', '02', '03']) store.ingestLine(`CLIENT_RANDOM ${c.repeat(32)} ${MASTER}`);
  assert.equal(store.size, 2);
  assert.equal(store.stats.evicted, 1);
  assert.equal(store.get(Buffer.alloc(32, 1)), undefined);
});

test('store: entries older than the TTL are dropped', () => {
  let now = 0;
  const store = new KeyLogStore({ ttlMs: 1000, now: () => now });
  store.ingestLine(`CLIENT_RANDOM ${'01'.repeat(32)} ${MASTER}`);
  now = 5000;
  store.ingestLine(`CLIENT_RANDOM ${'02'.repeat(32)} ${MASTER}`);
  assert.equal(store.size, 1);
  assert.equal(store.stats.evicted, 1);
});

test('tailer: follows appends, partial lines, truncation, recreation and garbage', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'axom-keylog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'keylog');
  const store = new KeyLogStore();
  const tailer = new KeyLogTailer(file, store, { maxLineLength: 300 });
  t.after(() => tailer.stop());

  tailer.poll(); // not there yet: no error
  assert.equal(store.stats.readErrors, 0);

  writeFileSync(file, `# comment\nCLIENT_RANDOM ${'01'.repeat(32)} ${MASTER}\n`);
  tailer.poll();
  assert.equal(store.size, 1);

  // A line written in two pieces is used once it is complete.
  const line = `CLIENT_RANDOM ${'02'.repeat(32)} ${MASTER}\n`;
  appendFileSync(file, line.slice(0, 40));
  tailer.poll();
  assert.equal(store.size, 1);
  appendFileSync(file, line.slice(40));
  tailer.poll();
  assert.equal(store.size, 2);

  // Garbage: binary junk, an overlong line, a bad label. Counted, nothing else happens.
  appendFileSync(file, Buffer.from([0, 1, 2, 0xff, 10]));
  appendFileSync(file, `${'x'.repeat(1000)}\nNOT_A_LABEL ${CR} ${SECRET32}\n`);
  tailer.poll();
  assert.equal(store.stats.lines.malformed, 1);
  assert.equal(store.stats.lines['line-too-long'], 1);
  assert.equal(store.stats.lines['unknown-label'], 1);
  assert.equal(store.size, 2);

  // Truncated (the app restarted and reopened it with O_TRUNC), a half line left over.
  appendFileSync(file, 'CLIENT_RANDOM 0303');
  tailer.poll();
  truncateSync(file, 0);
  appendFileSync(file, `CLIENT_RANDOM ${'03'.repeat(32)} ${MASTER}\n`);
  tailer.poll();
  assert.equal(store.stats.reopened, 1);
  assert.equal(store.stats.lines.truncated, 1);
  assert.ok(store.get(Buffer.alloc(32, 3)));

  // Recreated: removed and written again (new inode).
  unlinkSync(file);
  tailer.poll();
  writeFileSync(file, `CLIENT_RANDOM ${'04'.repeat(32)} ${MASTER}\n`);
  tailer.poll();
  assert.ok(store.get(Buffer.alloc(32, 4)));
  assert.equal(store.stats.lines.ok, 4);
});

test('tailer: start() polls on demand when a connection asks for keys', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'axom-keylog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'keylog');
  const store = new KeyLogStore();
  const tailer = new KeyLogTailer(file, store, { pollIntervalMs: 60_000 });
  tailer.start();
  t.after(() => tailer.stop());
  writeFileSync(file, `CLIENT_RANDOM ${CR} ${MASTER}\n`);
  let got: unknown;
  const cancel = store.waitFor(
    Buffer.from(CR, 'hex'),
    (s) => s.CLIENT_RANDOM !== undefined,
    60_000,
    (s) => {
      got = s;
    },
  );
  cancel();
  assert.ok(got);
});

test('metrics: counters are exposed and never carry key material', async () => {
  const registry = new Registry();
  const store = new KeyLogStore();
  store.ingestLine(`CLIENT_RANDOM ${CR} ${MASTER}`);
  store.ingestLine('garbage');
  const stats = newTlsStats();
  stats.connections.decrypted = 3;
  registerTlsMetrics(registry, stats, store.stats);
  const text = await registry.metrics();
  assert.match(text, /axom_tls_connections_total\{outcome="decrypted"\} 3/);
  assert.match(text, /axom_tls_keylog_lines_total\{result="ok"\} 1/);
  assert.match(text, /axom_tls_keylog_lines_total\{result="malformed"\} 1/);
  assert.ok(!text.includes(MASTER) && !text.includes(CR));
});

test('startTlsDecryption: tails the configured key log and exposes metrics; stop() wipes', async (t) => {
  const { startTlsDecryption } = await import('./setup.ts');
  const dir = mkdtempSync(join(tmpdir(), 'axom-keylog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'keylog');
  writeFileSync(file, `CLIENT_RANDOM ${CR} ${MASTER}\n`);
  const registry = new Registry();
  const tls = startTlsDecryption({
    keyLog: { path: file, waitMs: 10 },
    innerProtocols: [],
    metrics: registry,
  });
  t.after(() => tls.stop());
  assert.equal(tls.protocol.name, 'tls');
  assert.equal(tls.store?.size, 1);
  const secret = tls.store!.get(Buffer.from(CR, 'hex'))!.CLIENT_RANDOM!;
  assert.match(await registry.metrics(), /axom_tls_keylog_lines_total\{result="ok"\} 1/);
  tls.stop();
  assert.equal(tls.store?.size, 0);
  assert.ok(secret.every((b) => b === 0));
  const off = startTlsDecryption({ innerProtocols: [] });
  assert.equal(off.store, undefined);
});
