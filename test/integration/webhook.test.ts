/**
 * The admission webhook through a real kube-apiserver: certificates self-provisioned into
 * a Secret, the webhook registered by URL (operator/certs registerUrlWebhooks), policies
 * and namespaces from informers, pods created through the API and read back as stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { silentLogger } from '../../lib/log.ts';
import { API_GROUP, API_VERSION, POLICY_PLURAL } from '../../lib/names.ts';
import {
  type CertificateManager,
  injectCaBundle,
  inspectCertificate,
  registerUrlWebhooks,
  splitPemBundle,
  startSelfSignedCertificates,
  verifyPair,
} from '../../operator/certs/index.ts';
import {
  type AdmissionServer,
  type CacheControl,
  defaultAdmissionSettings,
  type NamespaceLookup,
  type PolicyLookup,
  startAdmissionServer,
  startNamespaceCache,
  startPolicyCache,
} from '../../webhook/index.ts';
import { type ControlPlane, startControlPlane, waitFor } from '../harness/index.ts';

const OPERATOR_NS = 'axom-system';
const SECRET = 'axom-observer-webhook-tls';
const CONFIG = 'axom-observer';

interface Env {
  cp: ControlPlane;
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  certs: CertificateManager;
  policies: PolicyLookup & CacheControl;
  namespaces: NamespaceLookup & CacheControl;
  server: AdmissionServer | undefined;
  registry: Registry;
  reloads: number;
}

let env: Env;
let podSeq = 0;

function podBody(
  name: string,
  opts: { annotations?: Record<string, string>; labels?: Record<string, string>; env?: V1Pod['spec'] } = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'agent', ...opts.labels }, annotations: opts.annotations },
    spec: opts.env ?? { containers: [{ name: 'agent', image: 'example.com/agent:1' }] },
  };
}

async function createPod(namespace: string, body: V1Pod, dryRun = false): Promise<V1Pod> {
  return env.core.createNamespacedPod({ namespace, body, ...(dryRun ? { dryRun: 'All' } : {}) });
}

const uniq = (prefix: string) => `${prefix}-${++podSeq}`;
const sidecarOf = (p: V1Pod) =>
  p.spec?.initContainers?.find((c) => c.name === 'axom-observer') ??
  p.spec?.containers.find((c) => c.name === 'axom-observer');

describe('admission webhook against a real API server', { timeout: 300_000 }, () => {
  before(async () => {
    const cp = await startControlPlane();
    try {
      const kc = cp.kubeConfig;
      await cp.installCrds();
      const core = kc.makeApiClient(CoreV1Api);
      const custom = kc.makeApiClient(CustomObjectsApi);
      for (const [name, annotations] of [
        [OPERATOR_NS, {}],
        ['agents', {}],
        ['team', { 'observer.axom.ai/inject': 'true' }],
      ] as const) {
        await core.createNamespace({ body: { metadata: { name, annotations } } });
      }
      const certs = await startSelfSignedCertificates({
        kubeConfig: kc,
        namespace: OPERATOR_NS,
        secretName: SECRET,
        serviceName: 'axom-observer-webhook',
        ipAddresses: ['127.0.0.1'],
        webhooks: { mutating: [CONFIG], validating: [CONFIG] },
        // Short lifetimes: the serving certificate rotates by itself during this suite.
        validityMs: 30_000,
        backdateMs: 0,
        resyncMs: 5_000,
        log: silentLogger,
      });
      const policies = startPolicyCache(kc);
      const namespaces = startNamespaceCache(kc);
      await Promise.all([policies.synced(), namespaces.synced()]);
      const [major, minor] = cp.version.replace(/^v/, '').split('.').map(Number);
      const registry = new Registry();
      env = { cp, kc, core, custom, certs, policies, namespaces, server: undefined, registry, reloads: 0 };
      certs.onChange(() => env.reloads++);
      env.server = await startAdmissionServer({
        port: 0,
        host: '127.0.0.1',
        tls: certs,
        settings: defaultAdmissionSettings({
          namespace: OPERATOR_NS,
          sidecarImage: 'example.com/axom-observer:test',
          serverVersion: { major: major ?? 1, minor: minor ?? 0 },
          backendUrlDefault: 'https://central.example.com/ingest',
        }),
        policies,
        namespaces,
        registry,
        log: silentLogger,
      });
      // Fail while the suite runs, so that a webhook that is not reached fails the test.
      await registerUrlWebhooks(kc, {
        url: env.server.url,
        caBundle: certs.caBundle(),
        failurePolicy: 'Fail',
        excludedNamespaces: [OPERATOR_NS, 'kube-system'],
      });
      await custom.createNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        namespace: 'agents',
        plural: POLICY_PLURAL,
        body: {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: 'ObservationPolicy',
          metadata: { name: 'llm' },
          spec: {
            selector: { matchLabels: { app: 'agent' } },
            sidecar: { tlsKeyLog: true },
            export: { enabled: true, backendUrl: 'https://collector.example.com/v1', batchSize: 50 },
          },
        },
      });
      await waitFor(() => policies.get('agents', 'llm'), { what: 'policy llm in the informer cache' });
      await waitFor(() => namespaces.get('team'), { what: 'namespace team in the informer cache' });
    } catch (err) {
      await cp.stop();
      throw err;
    }
  });

  after(async () => {
    env?.certs.stop();
    await env?.server?.close();
    await env?.policies.stop();
    await env?.namespaces.stop();
    await env?.cp.stop();
  });

  test('the certificate Secret exists and the caBundle is in both configurations', async () => {
    const secret = await env.core.readNamespacedSecret({ name: SECRET, namespace: OPERATOR_NS });
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    assert.equal(secret.type, 'kubernetes.io/tls');
    const adm = env.kc.makeApiClient(AdmissionregistrationV1Api);
    const m = await adm.readMutatingWebhookConfiguration({ name: CONFIG });
    const bundle = Buffer.from(env.certs.caBundle()).toString('base64');
    assert.equal(m.webhooks?.[0]?.clientConfig.caBundle, bundle);
    const v = await adm.readValidatingWebhookConfiguration({ name: CONFIG });
    assert.equal(v.webhooks?.[0]?.clientConfig.caBundle, bundle);
  });

  test('an annotated pod is stored with the sidecar, mounts, environment and annotations', async () => {
    const name = uniq('agent');
    await createPod('agents', podBody(name, { annotations: { 'observer.axom.ai/inject': 'true' } }));
    const p = await env.core.readNamespacedPod({ name, namespace: 'agents' });
    const a = p.metadata?.annotations ?? {};
    assert.equal(a['observer.axom.ai/status'], 'injected');
    assert.equal(a['observer.axom.ai/policy'], 'llm');
    assert.match(a['observer.axom.ai/config-hash'] ?? '', /^[0-9a-f]{16}$/);
    // 1.35 server, mode auto: native sidecar.
    const c = p.spec?.initContainers?.[0];
    assert.equal(c?.name, 'axom-observer');
    assert.equal(c?.restartPolicy, 'Always');
    assert.equal(c?.image, 'example.com/axom-observer:test');
    assert.deepEqual({ ...c?.securityContext?.capabilities }, { drop: ['ALL'], add: ['NET_RAW'] });
    assert.equal(c?.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(c?.startupProbe?.httpGet?.port, 2112);
    const mounts = Object.fromEntries((c?.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
    assert.equal(mounts['/etc/axom'], 'axom-observer-rules');
    assert.equal(mounts['/etc/axom/secret'], 'axom-observer-api-key');
    assert.equal(mounts['/var/run/axom/tls'], 'axom-observer-tls-keylog');
    const vols = Object.fromEntries((p.spec?.volumes ?? []).map((v) => [v.name, v]));
    assert.equal(vols['axom-observer-rules']?.configMap?.name, 'llm-axom-rules');
    assert.equal(vols['axom-observer-api-key']?.secret?.secretName, 'llm-axom-api-key');
    assert.equal(vols['axom-observer-api-key']?.secret?.optional, true);
    assert.equal(vols['axom-observer-tls-keylog']?.emptyDir?.medium, 'Memory');
    const e = Object.fromEntries(
      (c?.env ?? []).map((x) => [x.name, x.value ?? x.valueFrom?.fieldRef?.fieldPath]),
    );
    assert.equal(e.AXOM_POD_NAME, 'metadata.name');
    assert.equal(e.AXOM_POD_NAMESPACE, 'metadata.namespace');
    assert.equal(e.AXOM_NODE_NAME, 'spec.nodeName');
    assert.equal(e.AXOM_RULES, '/etc/axom/rules.yaml');
    assert.equal(e.AXOM_BACKEND_URL, 'https://collector.example.com/v1');
    assert.equal(e.AXOM_BATCH_SIZE, '50');
    // Key log: the app container got the volume and environment.
    const app = p.spec?.containers[0];
    assert.ok(app?.volumeMounts?.some((m) => m.mountPath === '/var/run/axom/tls'));
    const appEnv = Object.fromEntries((app?.env ?? []).map((x) => [x.name, x.value]));
    assert.equal(appEnv.SSLKEYLOGFILE, '/var/run/axom/tls/keylog');
    assert.equal(appEnv.NODE_OPTIONS, '--tls-keylog=/var/run/axom/tls/keylog');
  });

  test('key log with an existing NODE_OPTIONS extends it; valueFrom is left alone', async () => {
    const name = uniq('node-opts');
    const spec: V1Pod['spec'] = {
      containers: [
        { name: 'agent', image: 'x', env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=256' }] },
        {
          name: 'worker',
          image: 'x',
          env: [{ name: 'NODE_OPTIONS', valueFrom: { configMapKeyRef: { name: 'opts', key: 'node' } } }],
        },
      ],
    };
    await createPod(
      'agents',
      podBody(name, { annotations: { 'observer.axom.ai/inject': 'true' }, env: spec }),
    );
    const p = await env.core.readNamespacedPod({ name, namespace: 'agents' });
    const nodeOpts = (c: string) =>
      p.spec?.containers.find((x) => x.name === c)?.env?.find((x) => x.name === 'NODE_OPTIONS');
    assert.equal(nodeOpts('agent')?.value, '--max-old-space-size=256 --tls-keylog=/var/run/axom/tls/keylog');
    assert.equal(nodeOpts('worker')?.value, undefined);
    assert.equal(nodeOpts('worker')?.valueFrom?.configMapKeyRef?.name, 'opts');
  });

  test('a pod without the annotation is stored unchanged', async () => {
    const name = uniq('plain');
    await createPod('agents', podBody(name));
    const p = await env.core.readNamespacedPod({ name, namespace: 'agents' });
    assert.equal(sidecarOf(p), undefined);
    assert.equal(p.metadata?.annotations?.['observer.axom.ai/status'], undefined);
    assert.equal(p.spec?.volumes?.length ?? 0, 0);
  });

  test('namespace opt-in injects; the pod opting out wins', async () => {
    const inName = uniq('team-in');
    await createPod('team', podBody(inName));
    const inPod = await env.core.readNamespacedPod({ name: inName, namespace: 'team' });
    assert.ok(sidecarOf(inPod));
    assert.equal(
      inPod.metadata?.annotations?.['observer.axom.ai/status'],
      'injected: built-in defaults (no matching ObservationPolicy)',
    );
    const outName = uniq('team-out');
    await createPod('team', podBody(outName, { annotations: { 'observer.axom.ai/inject': 'false' } }));
    const outPod = await env.core.readNamespacedPod({ name: outName, namespace: 'team' });
    assert.equal(sidecarOf(outPod), undefined);
    assert.equal(outPod.metadata?.annotations?.['observer.axom.ai/status'], 'skipped: opted out');
  });

  test('hostNetwork pods are skipped with the reason recorded', async () => {
    const name = uniq('hostnet');
    const body = podBody(name, { annotations: { 'observer.axom.ai/inject': 'true' } });
    if (body.spec) body.spec.hostNetwork = true;
    await createPod('agents', body);
    const p = await env.core.readNamespacedPod({ name, namespace: 'agents' });
    assert.equal(sidecarOf(p), undefined);
    assert.match(p.metadata?.annotations?.['observer.axom.ai/status'] ?? '', /^skipped: hostNetwork/);
  });

  test('native and regular modes: the per-pod annotation chooses regular', async () => {
    const name = uniq('regular');
    await createPod(
      'agents',
      podBody(name, {
        annotations: { 'observer.axom.ai/inject': 'true', 'observer.axom.ai/native-sidecar': 'never' },
      }),
    );
    const p = await env.core.readNamespacedPod({ name, namespace: 'agents' });
    assert.equal(p.spec?.initContainers, undefined);
    assert.equal(p.spec?.containers.at(-1)?.name, 'axom-observer');
    assert.equal(p.spec?.containers.at(-1)?.restartPolicy, undefined);
  });

  test('an already-injected pod admitted again is not changed', async () => {
    const first = uniq('once');
    await createPod('agents', podBody(first, { annotations: { 'observer.axom.ai/inject': 'true' } }));
    const stored = await env.core.readNamespacedPod({ name: first, namespace: 'agents' });
    // Re-create the stored pod (as a copy would be) under another name.
    const second = uniq('twice');
    const copy: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: second, labels: stored.metadata?.labels, annotations: stored.metadata?.annotations },
      spec: stored.spec,
    };
    await createPod('agents', copy);
    const again = await env.core.readNamespacedPod({ name: second, namespace: 'agents' });
    assert.deepEqual(again.metadata?.annotations, stored.metadata?.annotations);
    assert.deepEqual(again.spec?.initContainers, stored.spec?.initContainers);
    assert.deepEqual(again.spec?.containers, stored.spec?.containers);
    assert.deepEqual(again.spec?.volumes, stored.spec?.volumes);
  });

  test('dry-run creation is mutated the same way and stores nothing', async () => {
    const name = uniq('dry');
    const p = await createPod(
      'agents',
      podBody(name, { annotations: { 'observer.axom.ai/inject': 'true' } }),
      true,
    );
    assert.ok(sidecarOf(p));
    await assert.rejects(
      env.core.readNamespacedPod({ name, namespace: 'agents' }),
      (err: { code?: number }) => {
        assert.equal(err.code, 404);
        return true;
      },
    );
  });

  test('an invalid ObservationPolicy is refused by the validating webhook with its message', async () => {
    await assert.rejects(
      env.custom.createNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        namespace: 'agents',
        plural: POLICY_PLURAL,
        body: {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: 'ObservationPolicy',
          metadata: { name: 'bad' },
          spec: {
            rules: [
              {
                name: 'chat',
                match: { path: '^/v1/(chat' },
                alerts: [{ name: 'slow', severity: 'warning', condition: 'signal.latencyMs > "x"' }],
              },
            ],
          },
        },
      }),
      (err: { code?: number; body?: unknown }) => {
        const text = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
        assert.equal(err.code, 422, text);
        assert.match(text, /denied the request: ObservationPolicy \\?"bad\\?" is invalid/);
        assert.match(text, /spec\.rules\[0\]\.match\.path: regex does not compile/);
        assert.match(text, /spec\.rules\[0\]\.alerts\[0\]\.condition/);
        return true;
      },
    );
  });

  test('caBundle injection updates only what differs', async () => {
    const adm = env.kc.makeApiClient(AdmissionregistrationV1Api);
    await adm.createMutatingWebhookConfiguration({
      body: {
        metadata: { name: 'bundle-target' },
        webhooks: [
          {
            name: 'target.webhook.axom.test',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            failurePolicy: 'Ignore',
            clientConfig: { url: 'https://127.0.0.1:1/none' },
            rules: [
              {
                apiGroups: ['nothing.test'],
                apiVersions: ['v1'],
                operations: ['CREATE'],
                resources: ['none'],
              },
            ],
          },
        ],
      },
    });
    try {
      const first = await injectCaBundle(
        env.kc,
        { mutating: ['bundle-target'], validating: ['absent'] },
        env.certs.caBundle(),
      );
      assert.deepEqual(first, { updated: ['bundle-target'], unchanged: [], missing: ['absent'] });
      const second = await injectCaBundle(env.kc, { mutating: ['bundle-target'] }, env.certs.caBundle());
      assert.deepEqual(second.unchanged, ['bundle-target']);
    } finally {
      await adm.deleteMutatingWebhookConfiguration({ name: 'bundle-target' });
    }
  });

  test('a second replica adopts the same certificate; a rotation by one reaches the other', async () => {
    const other = await startSelfSignedCertificates({
      kubeConfig: env.kc,
      namespace: OPERATOR_NS,
      secretName: SECRET,
      serviceName: 'axom-observer-webhook',
      ipAddresses: ['127.0.0.1'],
      validityMs: 30_000,
      backdateMs: 0,
      resyncMs: 60_000,
      log: silentLogger,
    });
    try {
      // The suite's manager may rotate by itself in between; compare after a sync of both.
      await env.certs.sync();
      await other.sync();
      assert.equal(other.current().cert, env.certs.current().cert);
      await other.rotateNow();
      assert.notEqual(other.current().cert, env.certs.current().cert);
      await env.certs.sync();
      assert.equal(env.certs.current().cert, other.current().cert);
    } finally {
      other.stop();
    }
  });

  test('a CA near its end is staged in the bundle first, then signs the next certificate', async () => {
    const m = await startSelfSignedCertificates({
      kubeConfig: env.kc,
      namespace: OPERATOR_NS,
      secretName: 'ca-renewal-test',
      serviceName: 'axom-observer-webhook',
      caValidityMs: 6_000,
      validityMs: 60_000,
      backdateMs: 0,
      resyncMs: 60_000,
      log: silentLogger,
    });
    try {
      const firstCa = splitPemBundle(m.caBundle());
      assert.equal(firstCa.length, 1);
      const servingBefore = m.current().cert;
      await new Promise((r) => setTimeout(r, 4_500)); // past 2/3 of the CA's 6 s
      await m.sync();
      const staged = splitPemBundle(m.caBundle());
      assert.equal(staged.length, 2, 'new CA added, old one kept');
      assert.equal(staged[1], firstCa[0]);
      assert.equal(m.current().cert, servingBefore, 'serving certificate unchanged while the bundle spreads');
      await m.rotateNow();
      assert.equal(
        verifyPair(m.current(), staged[0] as string),
        true,
        'the next certificate comes from the new CA',
      );
    } finally {
      m.stop();
    }
  });

  test('certificate rotation while requests flow loses no request', async () => {
    const reloadsBefore = env.reloads;
    const serials = new Set<string>([inspectCertificate(env.certs.current().cert).serialNumber]);
    const unsubscribe = env.certs.onChange((m) => serials.add(inspectCertificate(m.cert).serialNumber));
    const created: string[] = [];
    const failures: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop && i < 400; i++) {
        const name = `flow-${w}-${i}`;
        try {
          await createPod('agents', podBody(name, { annotations: { 'observer.axom.ai/inject': 'true' } }));
          created.push(name);
        } catch (err) {
          failures.push(`${name}: ${(err as { body?: string }).body ?? String(err)}`);
        }
      }
    };
    const workers = [worker(0), worker(1), worker(2)];
    try {
      // Explicit rotations on top of the timer-driven ones (30 s lifetime, renewed at 20 s).
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 1500));
        await env.certs.rotateNow();
      }
      await waitFor(() => serials.size >= 4, { timeoutMs: 30_000, what: 'three certificate rotations' });
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      stop = true;
      await Promise.all(workers);
      unsubscribe();
    }
    assert.deepEqual(failures, []);
    assert.ok(created.length > 20, `only ${created.length} pods created`);
    assert.ok(env.reloads - reloadsBefore >= 3);
    // Every one of them went through the webhook (failurePolicy is Fail) and got its sidecar.
    const list = await env.core.listNamespacedPod({ namespace: 'agents' });
    const byName = new Map(list.items.map((p) => [p.metadata?.name, p]));
    for (const name of created) assert.ok(sidecarOf(byName.get(name) as V1Pod), name);
  });

  test('webhook stopped with failurePolicy Ignore: the pod is still created, without sidecar', async () => {
    const server = env.server;
    assert.ok(server);
    await registerUrlWebhooks(env.kc, {
      url: server.url,
      caBundle: env.certs.caBundle(),
      failurePolicy: 'Ignore',
      timeoutSeconds: 2,
    });
    await server.close();
    env.server = undefined;
    const name = uniq('no-webhook');
    await createPod('agents', podBody(name, { annotations: { 'observer.axom.ai/inject': 'true' } }));
    const p = await env.core.readNamespacedPod({ name, namespace: 'agents' });
    assert.equal(sidecarOf(p), undefined);
    assert.equal(p.metadata?.annotations?.['observer.axom.ai/inject'], 'true');
  });

  test('admission metrics count by result', async () => {
    const text = await env.registry.metrics();
    assert.match(text, /axom_admission_requests_total\{webhook="mutate",result="injected"\} \d+/);
    assert.match(text, /axom_admission_requests_total\{webhook="mutate",result="not_requested"\} \d+/);
    assert.match(text, /axom_admission_requests_total\{webhook="mutate",result="host_network"\} 1/);
    assert.match(text, /axom_admission_requests_total\{webhook="validate",result="policy_rejected"\} 1/);
    assert.match(
      text,
      /axom_admission_duration_seconds_bucket\{le="0\.01",webhook="mutate",result="injected"\} \d+/,
    );
  });
});
