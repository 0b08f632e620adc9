import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../lib/log.ts';
import { watchCertificateDir } from './directory.ts';
import { generateCa, issueServingCertificate, type KeyPairPem } from './generate.ts';

/** Writes the files the way the kubelet does: a timestamped dir, `..data` swapped atomically. */
async function publish(dir: string, n: number, pair: KeyPairPem, ca: string): Promise<void> {
  const ts = `..2026_11_21_00_00_0${n}.${n}`;
  await mkdir(join(dir, ts));
  await writeFile(join(dir, ts, 'tls.crt'), pair.cert);
  await writeFile(join(dir, ts, 'tls.key'), pair.key);
  await writeFile(join(dir, ts, 'ca.crt'), ca);
  await symlink(ts, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const f of ['tls.crt', 'tls.key', 'ca.crt'])
    await symlink(join('..data', f), join(dir, f)).catch(() => {});
}

test('reads a mounted Secret dir, follows the ..data swap, keeps the last good pair', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'axom-certdir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await generateCa({ validityMs: 3600_000 });
  const one = await issueServingCertificate({ ca, dnsNames: ['a'], validityMs: 600_000 });
  const two = await issueServingCertificate({ ca, dnsNames: ['a'], validityMs: 600_000 });
  await publish(dir, 1, one, ca.cert);
  const src = await watchCertificateDir({ dir, log: silentLogger, pollMs: 60_000, debounceMs: 20 });
  t.after(() => src.stop());
  assert.equal(src.current().cert, one.cert);
  assert.equal(src.current().ca, ca.cert);

  const changed = new Promise<string>((resolve) => src.onChange((m) => resolve(m.cert)));
  await publish(dir, 2, two, ca.cert);
  assert.equal(await changed, two.cert, 'the watch saw the swap');

  // A broken pair (key of another certificate) is not announced.
  await publish(dir, 3, { cert: one.cert, key: two.key }, ca.cert);
  assert.equal(await src.reload(), false);
  assert.equal(src.current().cert, two.cert);
});

test('a directory without a pair fails at start with a clear error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'axom-certdir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(watchCertificateDir({ dir, log: silentLogger }), {
    code: 'AXOM_CERT',
    message: /cannot read tls.crt and tls.key/,
  });
});
