/**
 * The ObservationPolicy controller against a real control plane (etcd + kube-apiserver +
 * kube-controller-manager for garbage collection), running in this process so the test
 * can count the API requests it makes.
 *
 * With AXOM_TEST_OPERATOR_IDENTITY=chart the controller runs as the chart's ServiceAccount
 * under the chart's ClusterRole and Role (chart-identity.ts); setup and assertions stay admin.
 * In either mode a single refused request (401/403) fails the suite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ANNOTATION_CONFIG_HASH,
  API_GROUP_VERSION,
  apiKeySecretName,
  rulesConfigMapName,
} from '../../lib/names.ts';
import { WRITE_VERBS } from '../../operator/kube/client.ts';
import { type Operator, startOperator } from '../../operator/operator.ts';
import { type ControlPlane, startControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/kube.ts';
import {
  type ChartIdentity,
  identityTitle,
  installChartIdentity,
  isRefusal,
  operatorIdentityMode,
  type Refusal,
  refusalLogger,
} from './chart-identity.ts';

const OPERATOR_NS = 'axom-system';
const NS = 'team-a';
const POLICIES = `/apis/${API_GROUP_VERSION}/namespaces/${NS}/observationpolicies`;
const CMS = `/api/v1/namespaces/${NS}/configmaps`;
const SECRETS = `/api/v1/namespaces/${NS}/secrets`;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Json = any;

function condition(policy: Json, type: string): Json {
  return policy?.status?.conditions?.find((c: Json) => c.type === type);
}

const IDENTITY = operatorIdentityMode();
const RESTART_GRACE_MS = 1000;

describe(`ObservationPolicy controller (real control plane, ${identityTitle(IDENTITY)})`, () => {
  let cp: ControlPlane;
  let op: Operator;
  let chart: ChartIdentity | undefined;
  const writes: string[] = [];
  const refused: Refusal[] = [];
  const { logger, refusals: refusalLogs } = refusalLogger();
  // While kube-apiserver restarts it answers 403 to everyone but system:masters until its RBAC
  // caches have synced; refusals then are the restart, not a missing rule.
  const restarts: Array<{ from: number; to: number }> = [];
  const unexplained = (list: readonly Refusal[]): string[] =>
    list
      .filter((r) => !restarts.some((w) => r.at >= w.from && r.at <= w.to + RESTART_GRACE_MS))
      .map((r) => r.what);

  const get = async (path: string): Promise<Json> => {
    const res = await cp.request('GET', path);
    return res.status === 200 ? res.body : undefined;
  };
  const must = async (method: string, path: string, body?: unknown, contentType?: string): Promise<Json> => {
    const res = await cp.request(method, path, { body, contentType });
    assert.ok(
      res.status >= 200 && res.status < 300,
      `${method} ${path}: ${res.status} ${res.text.slice(0, 500)}`,
    );
    return res.body;
  };
  const policy = (name: string, spec: Json): Json => ({
    apiVersion: API_GROUP_VERSION,
    kind: 'ObservationPolicy',
    metadata: { name, namespace: NS },
    spec,
  });
  const readyPolicy = (name: string, pred: (p: Json) => boolean = () => true) =>
    waitFor(
      async () => {
        const p = await get(`${POLICIES}/${name}`);
        const ready = condition(p, 'Ready');
        return ready?.status === 'True' && p.status.observedGeneration === p.metadata.generation && pred(p)
          ? p
          : undefined;
      },
      { what: `${name} Ready=True`, intervalMs: 100 },
    );
  /** Waits until the controller has nothing queued, delayed or in progress. */
  const idle = () =>
    waitFor(
      async () => {
        const c = op.controller();
        if (!c?.hasSynced) return false;
        return c.queue.depth === 0 && c.queue.processingCount === 0 && c.queue.delayedCount === 0;
      },
      { what: 'controller idle', intervalMs: 100 },
    );

  before(async () => {
    cp = await startControlPlane({ withControllerManager: true });
    await cp.installCrds();
    for (const ns of [OPERATOR_NS, NS]) await must('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    if (IDENTITY === 'chart') chart = await installChartIdentity(cp, { namespace: OPERATOR_NS });
    op = await startOperator({
      kubeConfig: chart?.kubeConfig ?? cp.kubeConfig,
      logger,
      namespaces: [],
      operatorNamespace: OPERATOR_NS,
      centralSecretName: 'axom-central',
      centralSecretKey: 'api-key',
      centralSecretBackends: ['https://backend.example/'],
      excludedNamespaces: ['kube-system'],
      leaderElection: { enabled: false, leaseName: 'unused' },
      watchPods: true,
      controller: { retryBackoff: { baseMs: 100, maxMs: 2000 }, watchBackoff: { baseMs: 100, maxMs: 1000 } },
    });
    op.client.observe((verb, resource, code) => {
      if (WRITE_VERBS.has(verb)) writes.push(`${verb} ${resource} ${code}`);
      if (isRefusal(code)) refused.push({ at: Date.now(), what: `${verb} ${resource} ${code}` });
    });
  });

  after(async () => {
    await op?.stop();
    await cp?.stop();
    chart?.cleanup();
  });

  it('renders ConfigMap and Secret for a new policy and reports Ready=True', async () => {
    await must('POST', `${SECRETS}`, {
      metadata: { name: 'team-key' },
      data: { token: b64('sk-team-secret-1') },
    });
    await must(
      'POST',
      POLICIES,
      policy('alpha', {
        export: {
          enabled: true,
          backendUrl: 'https://backend.example/v1',
          apiKey: { source: 'Secret', secretRef: { name: 'team-key', key: 'token' } },
        },
      }),
    );
    const p = await readyPolicy('alpha');
    assert.equal(condition(p, 'RulesValid').status, 'True');
    assert.equal(condition(p, 'SecretReady').status, 'True');
    assert.equal(p.status.configMapName, rulesConfigMapName('alpha'));
    assert.equal(p.status.secretName, apiKeySecretName('alpha'));
    assert.match(p.status.rulesHash, /^[0-9a-f]{16}$/);

    const cm = await get(`${CMS}/${rulesConfigMapName('alpha')}`);
    assert.ok(cm.data['rules.yaml'].includes('version: 1'));
    assert.equal(cm.metadata.annotations[ANNOTATION_CONFIG_HASH], p.status.rulesHash);
    const secret = await get(`${SECRETS}/${apiKeySecretName('alpha')}`);
    assert.equal(Buffer.from(secret.data['api-key'], 'base64').toString(), 'sk-team-secret-1');
    for (const obj of [cm, secret]) {
      assert.deepEqual(obj.metadata.ownerReferences, [
        {
          apiVersion: API_GROUP_VERSION,
          kind: 'ObservationPolicy',
          name: 'alpha',
          uid: p.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    // The key appears nowhere but in the two Secrets.
    assert.ok(!JSON.stringify(p).includes('sk-team-secret-1'));
    assert.ok(!JSON.stringify(cm).includes('sk-team-secret-1'));
    const events = await get(`/api/v1/namespaces/${NS}/events`);
    assert.ok(!JSON.stringify(events).includes('sk-team-secret-1'));
    assert.ok(!JSON.stringify(events).includes(b64('sk-team-secret-1')));
    assert.ok(
      events.items.some((e: Json) => e.involvedObject.name === 'alpha' && e.reason === 'RulesRendered'),
    );
  });

  it('follows a spec change: ConfigMap, rulesHash and observedGeneration move together', async () => {
    const before = await get(`${POLICIES}/alpha`);
    const readyTime = condition(before, 'Ready').lastTransitionTime;
    await must(
      'PATCH',
      `${POLICIES}/alpha`,
      { spec: { system: { intervalSeconds: 42 } } },
      'application/merge-patch+json',
    );
    const p = await readyPolicy('alpha', (x) => x.metadata.generation > before.metadata.generation);
    assert.notEqual(p.status.rulesHash, before.status.rulesHash);
    assert.equal(p.status.observedGeneration, p.metadata.generation);
    const cm = await get(`${CMS}/${rulesConfigMapName('alpha')}`);
    assert.match(cm.data['rules.yaml'], /intervalSeconds: 42/);
    assert.equal(cm.metadata.annotations[ANNOTATION_CONFIG_HASH], p.status.rulesHash);
    // Ready stayed True: its transition time did not move.
    assert.equal(condition(p, 'Ready').lastTransitionTime, readyTime);
  });

  it('writes nothing in steady state, even when every policy is reconciled again', async () => {
    await idle();
    await sleep(500);
    await idle();
    const before = writes.length;
    const c = op.controller();
    assert.ok(c);
    for (const p of c.policies.list()) c.queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
    await idle();
    const reconciles = await op.metrics.reconciles.get();
    assert.ok(reconciles.values.some((v) => v.labels.result === 'success' && v.value > 0));
    assert.deepEqual(writes.slice(before), [], 'steady-state reconciles wrote to the API');
  });

  it('restores a rendered ConfigMap edited or deleted by hand', async () => {
    const name = rulesConfigMapName('alpha');
    const original = (await get(`${CMS}/${name}`)).data['rules.yaml'];
    await must(
      'PATCH',
      `${CMS}/${name}`,
      { data: { 'rules.yaml': 'version: 1\n# edited\n' } },
      'application/merge-patch+json',
    );
    await waitFor(async () => (await get(`${CMS}/${name}`))?.data['rules.yaml'] === original, {
      what: 'ConfigMap restored',
      intervalMs: 100,
    });
    await must('DELETE', `${CMS}/${name}`);
    await waitFor(async () => (await get(`${CMS}/${name}`))?.data?.['rules.yaml'] === original, {
      what: 'ConfigMap recreated',
      intervalMs: 100,
    });
    const s = apiKeySecretName('alpha');
    await must(
      'PATCH',
      `${SECRETS}/${s}`,
      { data: { 'api-key': b64('tampered') } },
      'application/merge-patch+json',
    );
    await waitFor(
      async () =>
        Buffer.from((await get(`${SECRETS}/${s}`)).data['api-key'], 'base64').toString() ===
        'sk-team-secret-1',
      { what: 'Secret restored', intervalMs: 100 },
    );
  });

  it('re-renders the Secret when its source Secret changes', async () => {
    await must(
      'PATCH',
      `${SECRETS}/team-key`,
      { data: { token: b64('sk-rotated-2') } },
      'application/merge-patch+json',
    );
    await waitFor(
      async () => {
        const s = await get(`${SECRETS}/${apiKeySecretName('alpha')}`);
        return Buffer.from(s.data['api-key'], 'base64').toString() === 'sk-rotated-2';
      },
      { what: 'rotated key copied', intervalMs: 100 },
    );
  });

  it('reports an invalid spec as RulesValid=False and renders nothing', async () => {
    await must(
      'POST',
      POLICIES,
      policy('broken', {
        rules: [{ name: 'slow', alerts: [{ name: 'too_slow', condition: 'signal.latencyMs >' }] }],
      }),
    );
    const p = await waitFor(
      async () => {
        const x = await get(`${POLICIES}/broken`);
        return condition(x, 'RulesValid')?.status === 'False' ? x : undefined;
      },
      { what: 'RulesValid=False', intervalMs: 100 },
    );
    assert.equal(condition(p, 'RulesValid').reason, 'InvalidSpec');
    assert.match(condition(p, 'RulesValid').message, /spec\.rules\[0\]\.alerts\[0\]\.condition/);
    assert.equal(condition(p, 'Ready').status, 'False');
    assert.equal(p.status.configMapName, undefined);
    assert.equal(await get(`${CMS}/${rulesConfigMapName('broken')}`), undefined);
    const events = await get(`/api/v1/namespaces/${NS}/events`);
    assert.ok(
      events.items.some((e: Json) => e.involvedObject.name === 'broken' && e.reason === 'InvalidSpec'),
    );
  });

  it('reports a missing source Secret as SecretReady=False and heals when it appears', async () => {
    await must(
      'POST',
      POLICIES,
      policy('central', {
        export: { enabled: true, backendUrl: 'https://backend.example/v1', apiKey: { source: 'Central' } },
      }),
    );
    const p = await waitFor(
      async () => {
        const x = await get(`${POLICIES}/central`);
        return condition(x, 'SecretReady')?.status === 'False' ? x : undefined;
      },
      { what: 'SecretReady=False', intervalMs: 100 },
    );
    assert.equal(condition(p, 'SecretReady').reason, 'SourceNotFound');
    assert.match(condition(p, 'SecretReady').message, /axom-system\/axom-central/);
    assert.equal(condition(p, 'Ready').status, 'False');
    // The rules do not wait for the key.
    assert.ok(await get(`${CMS}/${rulesConfigMapName('central')}`));
    await must('POST', `/api/v1/namespaces/${OPERATOR_NS}/secrets`, {
      metadata: { name: 'axom-central' },
      data: { 'api-key': b64('sk-central-3') },
    });
    await readyPolicy('central');
    const s = await get(`${SECRETS}/${apiKeySecretName('central')}`);
    assert.equal(Buffer.from(s.data['api-key'], 'base64').toString(), 'sk-central-3');
  });

  it('sends the central key only to allowed backends: BackendNotAllowed, then Ready, then removed', async () => {
    // The central Secret exists (previous test); only the backend decides.
    const evil = 'https://backend.example.evil.io/v1';
    await must(
      'POST',
      POLICIES,
      policy('rogue', { export: { enabled: true, backendUrl: evil, apiKey: { source: 'Central' } } }),
    );
    const notAllowed = (x: Json) =>
      condition(x, 'SecretReady')?.reason === 'BackendNotAllowed' &&
      x.status.observedGeneration === x.metadata.generation
        ? x
        : undefined;
    let p = await waitFor(async () => notAllowed(await get(`${POLICIES}/rogue`)), {
      what: 'SecretReady=False/BackendNotAllowed',
      intervalMs: 100,
    });
    assert.equal(condition(p, 'SecretReady').status, 'False');
    assert.ok(condition(p, 'SecretReady').message.includes(evil));
    assert.match(condition(p, 'SecretReady').message, /--central-secret-backends/);
    assert.equal(condition(p, 'Ready').status, 'False');
    assert.equal(p.status.secretName, undefined);
    assert.equal(await get(`${SECRETS}/${apiKeySecretName('rogue')}`), undefined);

    // Changed to an allowed backend: the key is copied and the policy becomes Ready.
    await must(
      'PATCH',
      `${POLICIES}/rogue`,
      { spec: { export: { backendUrl: 'https://backend.example/v1' } } },
      'application/merge-patch+json',
    );
    p = await readyPolicy('rogue', (x) => x.metadata.generation > p.metadata.generation);
    assert.equal(condition(p, 'SecretReady').reason, 'Copied');
    const s = await get(`${SECRETS}/${apiKeySecretName('rogue')}`);
    assert.equal(Buffer.from(s.data['api-key'], 'base64').toString(), 'sk-central-3');

    // And back to a host that is not allowed: the copied key is taken away again.
    await must(
      'PATCH',
      `${POLICIES}/rogue`,
      { spec: { export: { backendUrl: 'https://backend.example@evil.io/v1' } } },
      'application/merge-patch+json',
    );
    p = await waitFor(async () => notAllowed(await get(`${POLICIES}/rogue`)), {
      what: 'BackendNotAllowed after the change',
      intervalMs: 100,
    });
    await waitFor(async () => (await get(`${SECRETS}/${apiKeySecretName('rogue')}`)) === undefined, {
      what: 'the copied central key removed',
      intervalMs: 100,
    });
    const events = await get(`/api/v1/namespaces/${NS}/events`);
    assert.ok(
      events.items.some((e: Json) => e.involvedObject.name === 'rogue' && e.reason === 'BackendNotAllowed'),
    );
    assert.ok(!JSON.stringify(events).includes('sk-central-3'));
  });

  it('recovers from a kube-apiserver restart without restarting', async () => {
    const from = Date.now();
    await cp.restartApiServer();
    restarts.push({ from, to: Date.now() });
    await must('POST', POLICIES, policy('after-restart', {}));
    await readyPolicy('after-restart');
    // Drift repair still works: the watches are back.
    const name = rulesConfigMapName('after-restart');
    await must('DELETE', `${CMS}/${name}`);
    await waitFor(async () => (await get(`${CMS}/${name}`)) !== undefined, {
      what: 'ConfigMap recreated after restart',
      intervalMs: 100,
    });
  });

  it('counts and reports pods that asked for the sidecar but lack it', async () => {
    await must('POST', `/api/v1/namespaces/${NS}/pods`, {
      metadata: { name: 'agent', annotations: { 'observer.axom.ai/inject': 'true' } },
      spec: { containers: [{ name: 'app', image: 'example.invalid/agent:1' }] },
    });
    await must('POST', `/api/v1/namespaces/${NS}/pods`, {
      metadata: { name: 'plain' },
      spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
    });
    await waitFor(
      async () => {
        const g = await op.metrics.uninjectedPods.get();
        return g.values.find((v) => v.labels.reason === 'webhook_missed')?.value === 1;
      },
      { what: 'uninjected gauge = 1', intervalMs: 100 },
    );
    await waitFor(
      async () => {
        const events = await get(`/api/v1/namespaces/${NS}/events`);
        return events.items.some(
          (e: Json) => e.involvedObject.name === 'agent' && e.reason === 'SidecarMissing',
        );
      },
      { what: 'SidecarMissing event', intervalMs: 100 },
    );
    await must('DELETE', `/api/v1/namespaces/${NS}/pods/agent`, { gracePeriodSeconds: 0 });
    await waitFor(
      async () => {
        const g = await op.metrics.uninjectedPods.get();
        return g.values.find((v) => v.labels.reason === 'webhook_missed')?.value === 0;
      },
      { what: 'uninjected gauge = 0', intervalMs: 100 },
    );
  });

  it('deletes nothing itself: owner references let the garbage collector remove rendered objects', async () => {
    const p = await get(`${POLICIES}/alpha`);
    const cm = await get(`${CMS}/${rulesConfigMapName('alpha')}`);
    assert.equal(cm.metadata.ownerReferences[0].uid, p.metadata.uid);
    await must('DELETE', `${POLICIES}/alpha`);
    await waitFor(
      async () =>
        (await get(`${CMS}/${rulesConfigMapName('alpha')}`)) === undefined &&
        (await get(`${SECRETS}/${apiKeySecretName('alpha')}`)) === undefined,
      { what: 'garbage collection of the rendered objects', timeoutMs: 60_000, intervalMs: 100 },
    );
  });

  // Last, so that it sees every request the suite made the controller send.
  it('was never refused by the API server (its roles are enough)', async () => {
    assert.deepEqual(unexplained(refused), [], `requests refused ${identityTitle(IDENTITY)}`);
    assert.deepEqual(unexplained(refusalLogs), [], 'the controller logged refused requests');
    // The metric counts the same requests as the observer above: nothing was refused unseen.
    const metric = await op.metrics.apiRequests.get();
    const counted = metric.values
      .filter((v) => isRefusal(Number(v.labels.code)))
      .reduce((sum, v) => sum + v.value, 0);
    assert.equal(counted, refused.length);
  });
});
