/**
 * `axom-observer operator` as real child processes against a real control plane:
 * leader election between replicas (one leader; SIGTERM releases the Lease and the other
 * takes over at once; a killed leader is replaced once its Lease expires), and the whole
 * command with the admission webhook in outside-cluster mode.
 *
 * With AXOM_TEST_OPERATOR_IDENTITY=chart the replicas run as the chart's ServiceAccount under
 * the chart's roles, with the chart's Lease, webhook configuration and certificate Secret
 * names; the webhook configurations are then created beforehand, as `helm install` would,
 * because the chart lets the operator only get and update them. In either mode a refused
 * request (in a replica's metrics or logs) fails the suite.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { API_GROUP_VERSION, SIDECAR_CONTAINER_NAME } from '../../lib/names.ts';
import { type ControlPlane, freePort, startControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/kube.ts';
import {
  type ChartIdentity,
  identityTitle,
  installChartIdentity,
  operatorIdentityMode,
  REFUSAL_LOG,
  refusedRequestLines,
} from './chart-identity.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const OPERATOR_NS = 'axom-system';
const NS = 'team-ha';
const IDENTITY = operatorIdentityMode();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Json = any;

interface Replica {
  name: string;
  child: ChildProcess;
  metricsPort: number;
  output: string[];
  exited: Promise<number | null>;
}

const replicas: Replica[] = [];
/** Refused requests seen in any replica's logs or metrics, whatever the output buffer kept. */
const refusals: string[] = [];
/** The Lease the replicas compete for: the chart's under its identity. */
let leaseName = 'axom-test-lease';

async function startReplica(name: string, kubeconfig: string, extra: string[] = []): Promise<Replica> {
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'cli/main.ts'),
      'operator',
      `--kubeconfig=${kubeconfig}`,
      `--operator-namespace=${OPERATOR_NS}`,
      `--lease-name=${leaseName}`,
      '--lease-duration=4s',
      '--renew-deadline=3s',
      '--retry-period=500ms',
      `--metrics-address=127.0.0.1:${metricsPort}`,
      '--log-level=info',
      ...extra,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: '' } },
  );
  const output: string[] = [];
  const keep = (d: Buffer) => {
    const text = d.toString();
    output.push(text);
    if (output.length > 500) output.shift();
    for (const line of text.split('\n'))
      if (REFUSAL_LOG.test(line) && refusals.length < 50)
        refusals.push(`${name} log: ${line.slice(0, 2000)}`);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const r = { name, child, metricsPort, output, exited };
  replicas.push(r);
  return r;
}

async function metric(r: Replica, name: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`);
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/** Reads a live replica's API-request metric and keeps any 401/403 it counted. */
async function collectRefusals(r: Replica): Promise<void> {
  const text = await (await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`)).text();
  for (const line of refusedRequestLines(text)) refusals.push(`${r.name} metric: ${line}`);
}

async function stopReplica(r: Replica, signal: NodeJS.Signals): Promise<number | null> {
  if (r.child.exitCode === null && r.child.signalCode === null) {
    await collectRefusals(r);
    r.child.kill(signal);
  }
  return r.exited;
}

describe(`axom-observer operator (child processes, real control plane, ${identityTitle(IDENTITY)})`, () => {
  let cp: ControlPlane;
  let chart: ChartIdentity | undefined;
  /** The kubeconfig the replicas use: the admin's, or the chart ServiceAccount's. */
  let kubeconfig = '';
  const get = async (path: string): Promise<Json> => {
    const res = await cp.request('GET', path);
    return res.status === 200 ? res.body : undefined;
  };
  const must = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const res = await cp.request(method, path, { body });
    assert.ok(
      res.status >= 200 && res.status < 300,
      `${method} ${path}: ${res.status} ${res.text.slice(0, 500)}`,
    );
    return res.body;
  };
  const createPolicy = (name: string) =>
    must('POST', `/apis/${API_GROUP_VERSION}/namespaces/${NS}/observationpolicies`, {
      apiVersion: API_GROUP_VERSION,
      kind: 'ObservationPolicy',
      metadata: { name, namespace: NS },
      spec: {},
    });
  const policyReady = (name: string) =>
    waitFor(
      async () => {
        const p = await get(`/apis/${API_GROUP_VERSION}/namespaces/${NS}/observationpolicies/${name}`);
        return p?.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True');
      },
      { what: `${name} Ready`, intervalMs: 100 },
    );
  const leaders = async (rs: Replica[]): Promise<Replica[]> => {
    const out: Replica[] = [];
    for (const r of rs) if ((await metric(r, 'axom_operator_leader').catch(() => 0)) === 1) out.push(r);
    return out;
  };

  before(async () => {
    cp = await startControlPlane();
    await cp.installCrds();
    for (const ns of [OPERATOR_NS, NS]) await must('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    kubeconfig = cp.kubeconfigPath;
    if (IDENTITY === 'chart') {
      chart = await installChartIdentity(cp, { namespace: OPERATOR_NS });
      kubeconfig = chart.kubeconfigPath;
      leaseName = chart.names.lease;
    }
  });

  after(async () => {
    for (const r of replicas) {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
      await r.exited;
    }
    await cp?.stop();
    chart?.cleanup();
  });

  it('elects exactly one leader; SIGTERM releases the Lease and the other replica takes over', async () => {
    const a = await startReplica('a', kubeconfig, ['--no-webhook']);
    const b = await startReplica('b', kubeconfig, ['--no-webhook']);
    const first = await waitFor(
      async () => {
        const l = await leaders([a, b]);
        return l.length === 1 ? l[0] : undefined;
      },
      { what: 'one leader', intervalMs: 100 },
    );
    // Several renewals later there is still exactly one.
    await sleep(1500);
    assert.deepEqual(
      (await leaders([a, b])).map((r) => r.name),
      [first.name],
    );
    for (const r of [a, b]) {
      assert.equal((await fetch(`http://127.0.0.1:${r.metricsPort}/healthz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${r.metricsPort}/readyz`)).status, 200);
    }
    await createPolicy('one');
    await policyReady('one');

    const other = first === a ? b : a;
    assert.equal(await stopReplica(first, 'SIGTERM'), 0, first.output.join(''));
    const lease = await get(`/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NS}/leases/${leaseName}`);
    // Released (empty holder) or already taken by the other replica.
    assert.ok(!lease.spec.holderIdentity || lease.spec.holderIdentity !== '', 'lease readable');
    await waitFor(async () => (await leaders([other])).length === 1, {
      what: 'the other replica leads',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    assert.ok(first.output.join('').includes('released the lease'), 'the stopping leader released the Lease');
    await createPolicy('two');
    await policyReady('two');
    const after = await get(`/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NS}/leases/${leaseName}`);
    assert.ok(after.spec.leaseTransitions >= 1);
  });

  it('replaces a killed leader once its Lease expires', async () => {
    const live = replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
    assert.equal(live.length, 1);
    const leader = live[0] as Replica;
    const c = await startReplica('c', kubeconfig, ['--no-webhook']);
    await sleep(1000);
    assert.deepEqual(
      (await leaders([leader, c])).map((r) => r.name),
      [leader.name],
      'a newcomer does not take a held Lease',
    );
    await collectRefusals(leader);
    leader.child.kill('SIGKILL');
    await leader.exited;
    await waitFor(async () => (await leaders([c])).length === 1, {
      what: 'the newcomer leads after the Lease expired',
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    await createPolicy('three');
    await policyReady('three');
    assert.equal(await stopReplica(c, 'SIGTERM'), 0);
  });

  it('runs the admission webhook in outside-cluster mode and injects opted-in pods', async () => {
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const names: string[] = [];
    if (chart) {
      // The chart creates the configurations; the operator only updates them (get, update by name).
      await chart.applyWebhookConfigurations(url);
      names.push(
        `--mutating-webhook-name=${chart.names.mutatingWebhook}`,
        `--validating-webhook-name=${chart.names.validatingWebhook}`,
        `--cert-secret-name=${chart.names.certSecret}`,
      );
    }
    const r = await startReplica('webhook', kubeconfig, [
      `--webhook-url=${url}`,
      `--webhook-port=${port}`,
      '--cert-mode=self-signed',
      '--no-leader-elect',
      ...names,
    ]);
    await waitFor(
      async () =>
        (await get('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations')).items.length > 0,
      { what: 'webhook registered', timeoutMs: 60_000, intervalMs: 100 },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${r.output.join('')}`);
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${r.metricsPort}/readyz`)).status === 200, {
      what: 'operator ready',
      intervalMs: 100,
    });
    // The API server may need a moment to pick up a new webhook configuration: a few tries.
    let pod: Json;
    for (let i = 0; i < 10 && !pod; i++) {
      const created = await must('POST', `/api/v1/namespaces/${NS}/pods`, {
        metadata: { name: `agent-${i}`, annotations: { 'observer.axom.ai/inject': 'true' } },
        spec: { containers: [{ name: 'app', image: 'example.invalid/agent:1' }] },
      });
      const all = [...(created.spec.containers ?? []), ...(created.spec.initContainers ?? [])];
      if (all.some((c: Json) => c.name === SIDECAR_CONTAINER_NAME)) pod = created;
      else await sleep(1000);
    }
    assert.ok(pod, `no pod was injected\n${r.output.join('')}`);
    assert.ok(pod.metadata.annotations['observer.axom.ai/status']);
    assert.equal(await stopReplica(r, 'SIGTERM'), 0, r.output.join(''));
  });

  // Last: every replica has been stopped (its metrics read first) by now.
  it('was never refused by the API server (its roles are enough)', () => {
    assert.deepEqual(refusals, [], `requests refused ${identityTitle(IDENTITY)}`);
  });
});
