/**
 * Controller throughput against the local control plane (etcd + kube-apiserver from the
 * harness): time for N ObservationPolicies to reach Ready=True, API writes per policy on
 * creation, and writes in steady state (every policy reconciled again: should be 0).
 *
 * Peer, measured in the same run: the floor of the same API work without a controller —
 * a bare loop that creates the same ConfigMap and Secret and patches status for N other
 * policies, with the same client and concurrency.
 *
 *   node bench/controller.ts [--policies 1000] [--qps 50] [--burst 200] [--workers 4]
 */
import { parseArgs } from 'node:util';
import { silentLogger } from '../lib/log.ts';
import { API_GROUP_VERSION } from '../lib/names.ts';
import { renderRulesFile, rulesHash, serializeRules } from '../lib/policy/index.ts';
import type { ObservationPolicy } from '../lib/policy/types.ts';
import { desiredConfigMap, desiredSecret } from '../operator/controller/render.ts';
import { KubeClient, WRITE_VERBS } from '../operator/kube/client.ts';
import type { KubeObject } from '../operator/kube/types.ts';
import { RESOURCES } from '../operator/kube/types.ts';
import { startOperator } from '../operator/operator.ts';
import { startControlPlane } from '../test/harness/controlplane.ts';

const { values } = parseArgs({
  options: {
    policies: { type: 'string', default: '1000' },
    qps: { type: 'string', default: '50' },
    burst: { type: 'string', default: '200' },
    workers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '16' },
  },
});
const N = Number(values.policies);
const CONCURRENCY = Number(values.concurrency);
const NS = 'bench';
const OPERATOR_NS = 'axom-system';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

const spec = (i: number) => ({
  rules: [{ name: `r${i}`, match: { path: `/v1/route-${i}` } }],
  export: {
    enabled: true,
    backendUrl: 'https://backend.example/v1',
    apiKey: { source: 'Secret', secretRef: { name: 'bench-key', key: 'token' } },
  },
});

const cp = await startControlPlane();
try {
  await cp.installCrds();
  for (const ns of [OPERATOR_NS, NS])
    await cp.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await cp.request('POST', `/api/v1/namespaces/${NS}/secrets`, {
    body: { metadata: { name: 'bench-key' }, data: { token: Buffer.from('sk-bench').toString('base64') } },
  });
  const load = new KubeClient(cp.kubeConfig, { userAgent: 'bench-load' });

  // --- peer: the same writes without a controller ------------------------------------------
  const peerNames = Array.from({ length: N }, (_, i) => `peer-${i}`);
  await pool(peerNames, CONCURRENCY, (name) =>
    load.create(RESOURCES.policies, NS, {
      apiVersion: API_GROUP_VERSION,
      kind: 'ObservationPolicy',
      metadata: { name, namespace: NS },
      spec: spec(0),
    } as KubeObject),
  );
  const peerPolicies = (await load.list<ObservationPolicy & KubeObject>(RESOURCES.policies, NS)).items;
  const peerStart = performance.now();
  await pool(peerPolicies, CONCURRENCY, async (p) => {
    const text = serializeRules(renderRulesFile(p));
    const hash = rulesHash(text);
    await load.create(RESOURCES.configMaps, NS, desiredConfigMap(p, text, hash));
    await load.create(
      RESOURCES.secrets,
      NS,
      desiredSecret(p, Buffer.from('sk-bench').toString('base64'), 'x'),
    );
    await load.mergePatch(RESOURCES.policies, NS, p.metadata.name, { status: { rulesHash: hash } }, 'status');
  });
  const peerSeconds = (performance.now() - peerStart) / 1000;
  await pool(peerNames, CONCURRENCY, (name) => load.delete(RESOURCES.policies, NS, name));

  // --- the controller ----------------------------------------------------------------------
  const op = await startOperator({
    kubeConfig: cp.kubeConfig,
    logger: silentLogger,
    namespaces: [NS],
    operatorNamespace: OPERATOR_NS,
    centralSecretName: 'none',
    centralSecretKey: 'api-key',
    excludedNamespaces: [],
    leaderElection: { enabled: false, leaseName: 'bench' },
    watchPods: false,
    workers: Number(values.workers),
    qps: Number(values.qps),
    burst: Number(values.burst),
  });
  const writes = new Map<string, number>();
  let eventWrites = 0;
  op.client.observe((verb, resource) => {
    if (!WRITE_VERBS.has(verb)) return;
    if (resource === 'events') eventWrites++;
    else writes.set(`${verb} ${resource}`, (writes.get(`${verb} ${resource}`) ?? 0) + 1);
  });
  while (!op.controller()?.hasSynced) await sleep(50);
  // Leftover peer objects are garbage without a collector: drop them from the namespace first.
  for (const rt of [RESOURCES.configMaps, RESOURCES.secrets]) {
    const items = (await load.list(rt, NS, { labelSelector: 'app.kubernetes.io/managed-by=axom-observer' }))
      .items;
    await pool(items, CONCURRENCY, (o) => load.delete(rt, NS, o.metadata.name));
  }
  writes.clear();

  const names = Array.from({ length: N }, (_, i) => `policy-${i}`);
  const start = performance.now();
  await pool(names, CONCURRENCY, (name) =>
    load.create(RESOURCES.policies, NS, {
      apiVersion: API_GROUP_VERSION,
      kind: 'ObservationPolicy',
      metadata: { name, namespace: NS },
      spec: spec(Number(name.slice(7))),
    } as KubeObject),
  );
  const createdSeconds = (performance.now() - start) / 1000;
  let ready = 0;
  while (ready < N) {
    await sleep(250);
    const list = (await load.list<ObservationPolicy & KubeObject>(RESOURCES.policies, NS)).items;
    ready = list.filter((p) =>
      p.status?.conditions?.some(
        (c) =>
          c.type === 'Ready' && c.status === 'True' && p.status?.observedGeneration === p.metadata.generation,
      ),
    ).length;
  }
  const readySeconds = (performance.now() - start) / 1000;
  const creationWrites = [...writes.values()].reduce((a, b) => a + b, 0);
  const creationBreakdown = Object.fromEntries(writes);
  const creationEvents = eventWrites;

  // --- steady state ------------------------------------------------------------------------
  const c = op.controller();
  const idle = async () => {
    while (c && (c.queue.depth || c.queue.processingCount || c.queue.delayedCount)) await sleep(50);
  };
  await idle();
  await sleep(2000);
  await idle();
  writes.clear();
  eventWrites = 0;
  const rs = performance.now();
  for (const p of c?.policies.list() ?? []) c?.queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
  await idle();
  const resyncSeconds = (performance.now() - rs) / 1000;
  await sleep(5000);
  const steadyWrites = [...writes.values()].reduce((a, b) => a + b, 0) + eventWrites;
  const duration = await op.metrics.reconcileDuration.get();
  const sum = duration.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  const count = duration.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 1;

  await op.stop();
  await load.close();

  const round = (x: number, d = 2) => Number(x.toFixed(d));
  console.log(
    JSON.stringify(
      {
        policies: N,
        qps: Number(values.qps),
        burst: Number(values.burst),
        workers: Number(values.workers),
        createRequestsSeconds: round(createdSeconds),
        timeToAllReadySeconds: round(readySeconds),
        readyPerSecond: round(N / readySeconds, 1),
        peerSameWritesSeconds: round(peerSeconds),
        ratioToPeer: round(readySeconds / peerSeconds),
        writesPerPolicyOnCreation: round(creationWrites / N, 3),
        creationWriteBreakdown: creationBreakdown,
        eventsPerPolicyOnCreation: round(creationEvents / N, 3),
        steadyStateFullResyncSeconds: round(resyncSeconds),
        steadyStateWrites: steadyWrites,
        meanReconcileMs: round((sum / count) * 1000, 3),
        reconciles: count,
      },
      null,
      2,
    ),
  );
} finally {
  await cp.stop();
}
