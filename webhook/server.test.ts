import assert from 'node:assert/strict';
import { request } from 'node:https';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { silentLogger } from '../lib/log.ts';
import { generateCa, issueServingCertificate } from '../operator/certs/generate.ts';
import { MutableTlsSource } from '../operator/certs/source.ts';
import { staticNamespaceLookup, staticPolicyLookup } from './lookup.ts';
import { startAdmissionServer } from './server.ts';
import { defaultAdmissionSettings } from './settings.ts';
import { AdmissionReviewBuilder, namespace, PodBuilder, policy } from './testing/fixtures.ts';

interface Reply {
  status: number;
  body: Record<string, unknown>;
  fingerprint: string;
}

function post(
  url: string,
  path: string,
  body: string | Buffer,
  ca: string,
  contentType = 'application/json',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method: 'POST', ca, agent: false, headers: { 'content-type': contentType }, servername: 'localhost' },
      (res) => {
        const chunks: Buffer[] = [];
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {}, fingerprint });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function setup(t: import('node:test').TestContext) {
  const ca = await generateCa({ validityMs: 3600_000 });
  const issue = () =>
    issueServingCertificate({
      ca,
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validityMs: 3600_000,
    });
  const tls = new MutableTlsSource({ ...(await issue()), ca: ca.cert });
  const registry = new Registry();
  const server = await startAdmissionServer({
    port: 0,
    host: '127.0.0.1',
    tls,
    settings: defaultAdmissionSettings({ serverVersion: { major: 1, minor: 35 } }),
    policies: staticPolicyLookup([policy('llm', 'agents', { selector: {} })]),
    namespaces: staticNamespaceLookup([namespace('agents')]),
    registry,
    log: silentLogger,
    bodyLimit: 64 * 1024,
  });
  t.after(() => server.close());
  return { server, ca, tls, issue, registry };
}

test('mutates over HTTPS, answers with the uid, counts by result', async (t) => {
  const { server, ca, registry } = await setup(t);
  const b = AdmissionReviewBuilder.forPod(PodBuilder.deploymentPod().build());
  const r = await post(server.url, '/mutate-v1-pod', JSON.stringify(b.build()), ca.cert);
  assert.equal(r.status, 200);
  assert.equal(r.body.apiVersion, 'admission.k8s.io/v1');
  assert.equal(r.body.kind, 'AdmissionReview');
  const response = r.body.response as { uid: string; allowed: boolean; patchType: string };
  assert.equal(response.uid, b.uidValue);
  assert.equal(response.allowed, true);
  assert.equal(response.patchType, 'JSONPatch');
  const metrics = await registry.metrics();
  assert.match(metrics, /axom_admission_requests_total\{webhook="mutate",result="injected"\} 1/);
  assert.match(metrics, /axom_admission_duration_seconds_count\{webhook="mutate",result="injected"\} 1/);
});

test('bad requests get 400 with a clear message, never a crash', async (t) => {
  const { server, ca, registry } = await setup(t);
  const cases: Array<[string | Buffer, RegExp, string?]> = [
    ['{"apiVersion": ', /malformed JSON/],
    ['', /body is empty/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /request is missing/],
    [
      JSON.stringify(new AdmissionReviewBuilder({ kind: 'Service', spec: {} }, 'Service').build()),
      /request.kind.kind must be Pod, got "Service"/,
    ],
    [JSON.stringify(new AdmissionReviewBuilder({ metadata: {} }).build()), /request.object.spec is missing/],
    [Buffer.alloc(100 * 1024, 0x20), /request body too large/],
    ['<xml/>', /content type must be application\/json/, 'application/xml'],
    ['{"__proto__": {"x": 1}}', /malformed JSON|prototype/i],
  ];
  for (const [body, re, type] of cases) {
    const r = await post(server.url, '/mutate-v1-pod', body, ca.cert, type);
    assert.equal(r.status, 400, `${String(body).slice(0, 40)} → ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'AXOM_ADMISSION_BAD_REQUEST');
    assert.match(String(r.body.message), re);
  }
  // Still serving.
  const ok = await post(
    server.url,
    '/mutate-v1-pod',
    JSON.stringify(AdmissionReviewBuilder.forPod(PodBuilder.deploymentPod().build()).build()),
    ca.cert,
  );
  assert.equal(ok.status, 200);
  assert.match(
    await registry.metrics(),
    /axom_admission_requests_total\{webhook="mutate",result="bad_request"\} 8/,
  );
});

test('validating endpoint refuses an invalid policy with its message', async (t) => {
  const { server, ca } = await setup(t);
  const bad = policy('bad', 'agents', { rules: [{ name: 'r', match: { path: '(' } }] });
  const r = await post(
    server.url,
    '/validate-observationpolicy',
    JSON.stringify(AdmissionReviewBuilder.forPolicy(bad).build()),
    ca.cert,
  );
  assert.equal(r.status, 200);
  const response = r.body.response as { allowed: boolean; status: { message: string } };
  assert.equal(response.allowed, false);
  assert.match(response.status.message, /spec\.rules\[0\]\.match\.path: regex does not compile/);
});

test('a new certificate is served to new connections without a restart', async (t) => {
  const { server, ca, tls, issue } = await setup(t);
  const body = JSON.stringify(AdmissionReviewBuilder.forPod(PodBuilder.deploymentPod().build()).build());
  const before = await post(server.url, '/mutate-v1-pod', body, ca.cert);
  const next = await issue();
  tls.set({ ...next, ca: ca.cert });
  const after = await post(server.url, '/mutate-v1-pod', body, ca.cert);
  assert.equal(after.status, 200);
  assert.notEqual(after.fingerprint, before.fingerprint);
  // A bad pair is refused and the current one keeps serving.
  tls.set({ cert: next.cert, key: (await issue()).key });
  const still = await post(server.url, '/mutate-v1-pod', body, ca.cert);
  assert.equal(still.status, 200);
  assert.equal(still.fingerprint, after.fingerprint);
});
