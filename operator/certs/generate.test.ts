import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { createSecureContext } from 'node:tls';
import {
  generateCa,
  inspectCertificate,
  issueServingCertificate,
  renewalTime,
  serviceDnsNames,
  splitPemBundle,
  verifyPair,
} from './generate.ts';

test('CA and serving certificate: SANs, usages, chain', async () => {
  const ca = await generateCa({ validityMs: 3600_000 });
  const caInfo = inspectCertificate(ca.cert);
  assert.equal(caInfo.isCa, true);
  const names = serviceDnsNames('axom-observer-webhook', 'axom-system');
  assert.deepEqual(names, [
    'axom-observer-webhook',
    'axom-observer-webhook.axom-system',
    'axom-observer-webhook.axom-system.svc',
    'axom-observer-webhook.axom-system.svc.cluster.local',
  ]);
  const s = await issueServingCertificate({
    ca,
    dnsNames: names,
    ipAddresses: ['127.0.0.1'],
    validityMs: 600_000,
  });
  const info = inspectCertificate(s.cert);
  assert.equal(info.isCa, false);
  assert.deepEqual(info.dnsNames, names);
  assert.deepEqual(info.ipAddresses, ['127.0.0.1']);
  assert.equal(verifyPair(s, ca.cert), true);
  const x = new X509Certificate(s.cert);
  assert.equal(x.checkHost('axom-observer-webhook.axom-system.svc'), 'axom-observer-webhook.axom-system.svc');
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.match(x.keyUsage?.join(',') ?? '', /1\.3\.6\.1\.5\.5\.7\.3\.1/, 'serverAuth');
  createSecureContext({ cert: s.cert, key: s.key });
});

test('verifyPair rejects a foreign key or CA', async () => {
  const ca = await generateCa({ validityMs: 3600_000 });
  const other = await generateCa({ validityMs: 3600_000 });
  const a = await issueServingCertificate({ ca, dnsNames: ['a'], validityMs: 600_000 });
  const b = await issueServingCertificate({ ca, dnsNames: ['b'], validityMs: 600_000 });
  assert.equal(verifyPair({ cert: a.cert, key: b.key }, ca.cert), false);
  assert.equal(verifyPair(a, other.cert), false);
  assert.equal(verifyPair(a, other.cert + ca.cert), true, 'any CA of the bundle');
  assert.equal(verifyPair({ cert: 'junk', key: 'junk' }, ca.cert), false);
});

test('validity, backdating and the 2/3 renewal point', async () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const ca = await generateCa({ validityMs: 3 * 3600_000, backdateMs: 0, now });
  const info = inspectCertificate(ca.cert);
  assert.equal(info.notBefore.toISOString(), '2026-06-01T00:00:00.000Z');
  assert.equal(info.notAfter.toISOString(), '2026-06-01T03:00:00.000Z');
  assert.equal(renewalTime(info).toISOString(), '2026-06-01T02:00:00.000Z');
  const backdated = inspectCertificate((await generateCa({ validityMs: 3600_000, now })).cert);
  assert.equal(backdated.notBefore.toISOString(), '2026-05-31T23:55:00.000Z');
});

test('splitPemBundle', async () => {
  const a = await generateCa({ validityMs: 3600_000 });
  const b = await generateCa({ validityMs: 3600_000 });
  assert.deepEqual(
    splitPemBundle(a.cert + b.cert).map((c) => inspectCertificate(c).serialNumber),
    [inspectCertificate(a.cert).serialNumber, inspectCertificate(b.cert).serialNumber],
  );
  assert.deepEqual(splitPemBundle('nothing'), []);
});
