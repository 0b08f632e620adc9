/**
 * The control-plane harness itself: a real etcd + kube-apiserver answer, kubectl works with
 * the written kubeconfig, restarts keep data, webhooks registered through it are called,
 * the controller-manager collects garbage, and every cleanup path leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { REPO_ROOT } from '../harness/binaries.ts';
import { type ControlPlane, startControlPlane } from '../harness/controlplane.ts';
import { applyManifest, kubectl, runKubectl, waitFor } from '../harness/kube.ts';

function expectedVersion(): string {
  const gomod = readFileSync(join(REPO_ROOT, 'test/controlplane/go.mod'), 'utf8');
  const m = /^\s*k8s\.io\/kubernetes (v\d+\.\d+\.\d+)/m.exec(gomod);
  assert.ok(m, 'go.mod pins k8s.io/kubernetes');
  return m[1]!;
}

/** Whether any live (non-zombie) process is in process group `pgid`. */
function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the parenthesised command name: state ppid pgrp ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

describe('control plane harness', () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane();
  });
  after(async () => {
    await cp?.stop();
  });

  test('reports the version it was built as', async () => {
    assert.equal(cp.version, expectedVersion());
    const res = await cp.request('GET', '/version');
    assert.equal(res.body.gitVersion, expectedVersion());
    assert.match(cp.server, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test('client-node creates a namespace and a ConfigMap', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'smoke' } } });
    await core.createNamespacedConfigMap({
      namespace: 'smoke',
      body: { metadata: { name: 'cm1' }, data: { hello: 'world' } },
    });
    const got = await core.readNamespacedConfigMap({ namespace: 'smoke', name: 'cm1' });
    assert.equal(got.data?.hello, 'world');
  });

  test('applyManifest creates and then updates an object (server-side apply)', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace: 'smoke' } };
    await applyManifest(cp.kubeConfig, { ...cm, data: { v: '1' } });
    const updated = await applyManifest(cp.kubeConfig, { ...cm, data: { v: '2' } });
    assert.equal((updated as { data?: Record<string, string> }).data?.v, '2');
  });

  test('the admin user is in system:masters and RBAC is on', async () => {
    const review = await cp.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    assert.equal(review.status, 201, review.text);
    assert.ok(review.body.status.userInfo.groups.includes('system:masters'));
    // RBAC's bootstrap roles exist only when the RBAC authorizer is active.
    const role = await cp.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/cluster-admin');
    assert.equal(role.status, 200);
  });

  test('kubectl works with the kubeconfig file', async () => {
    const out = await kubectl(cp, 'get', 'configmap', 'cm1', '-n', 'smoke', '-o', 'jsonpath={.data.hello}');
    assert.equal(out, 'world');
    const version = JSON.parse(await kubectl(cp, 'version', '-o', 'json'));
    assert.equal(version.serverVersion.gitVersion, expectedVersion());
    const missing = await runKubectl(cp, ['get', 'configmap', 'nope', '-n', 'smoke']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not found/);
  });

  test('restartApiServer keeps the data and the address', async () => {
    const server = cp.server;
    const before = cp.processes().find((p) => p.name === 'kube-apiserver')!.pid;
    await cp.restartApiServer();
    assert.equal(cp.server, server);
    const after = cp.processes().find((p) => p.name === 'kube-apiserver')!.pid;
    assert.notEqual(after, before);
    assert.equal(groupAlive(before), false, 'the old kube-apiserver is gone');
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const got = await core.readNamespacedConfigMap({ namespace: 'smoke', name: 'cm1' });
    assert.equal(got.data?.hello, 'world');
  });

  test('a registered validating webhook is called over HTTPS with the CA bundle', async (t) => {
    const serving = await cp.ca.issue({ commonName: 'webhook', ipAddresses: ['127.0.0.1'], usage: 'server' });
    const seen: string[] = [];
    const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const name: string = review.request.name;
        seen.push(name);
        const allowed = !name.startsWith('deny-');
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: { uid: review.request.uid, allowed, status: { message: 'denied by the test webhook' } },
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;

    const hook = await cp.registerValidatingWebhook({
      name: 'smoke-validate',
      url: `https://127.0.0.1:${port}/validate`,
      caBundle: cp.ca.certPem,
      rules: [
        {
          operations: ['CREATE'],
          apiGroups: [''],
          apiVersions: ['v1'],
          resources: ['configmaps'],
          scope: '*',
        },
      ],
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'smoke' } },
    });
    t.after(() => hook.delete());

    const create = (name: string) =>
      cp.request('POST', '/api/v1/namespaces/smoke/configmaps', { body: { metadata: { name } } });
    // The API server picks the configuration up through an informer: wait until it denies
    // (a webhook's denial comes back as 400 unless the webhook sets a code).
    let n = 0;
    const denied = await waitFor(
      async () => {
        const res = await create(`deny-${n++}`);
        return res.status === 400 ? res : false;
      },
      { what: 'the webhook to deny a ConfigMap', timeoutMs: 20_000 },
    );
    assert.match(denied.body.message, /denied by the test webhook/);
    const ok = await create('allow-1');
    assert.equal(ok.status, 201, ok.text);
    assert.ok(seen.includes('allow-1'));
  });

  test('a registered mutating webhook patches objects', async (t) => {
    const serving = await cp.ca.issue({ commonName: 'webhook', dnsNames: ['localhost'], usage: 'server' });
    const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const patch = [{ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }];
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: {
              uid: review.request.uid,
              allowed: true,
              patchType: 'JSONPatch',
              patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
            },
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    await kubectl(cp, 'create', 'namespace', 'mutate');
    const hook = await cp.registerMutatingWebhook({
      name: 'smoke-mutate',
      url: `https://localhost:${port}/mutate`,
      caBundle: cp.ca.certPem,
      rules: [
        {
          operations: ['CREATE'],
          apiGroups: [''],
          apiVersions: ['v1'],
          resources: ['configmaps'],
          scope: '*',
        },
      ],
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mutate' } },
      reinvocationPolicy: 'IfNeeded',
    });
    t.after(() => hook.delete());
    let n = 0;
    await waitFor(
      async () => {
        const res = await cp.request('POST', '/api/v1/namespaces/mutate/configmaps', {
          body: { metadata: { name: `m-${n++}` } },
        });
        assert.equal(res.status, 201, res.text);
        return res.body.metadata.labels?.mutated === 'yes';
      },
      { what: 'the mutating webhook to label a ConfigMap', timeoutMs: 20_000 },
    );
  });

  test('kube-controller-manager garbage-collects dependents', async (t) => {
    await cp.startControllerManager();
    t.after(() => cp.stopControllerManager());
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({
      namespace: 'smoke',
      body: { metadata: { name: 'owner' } },
    });
    await core.createNamespacedConfigMap({
      namespace: 'smoke',
      body: {
        metadata: {
          name: 'dependent',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: 'smoke', name: 'owner' });
    await waitFor(
      async () => (await cp.request('GET', '/api/v1/namespaces/smoke/configmaps/dependent')).status === 404,
      { what: 'the garbage collector to delete the dependent ConfigMap', timeoutMs: 60_000 },
    );
    // The service-account controller creates `default` in every namespace.
    await waitFor(
      async () =>
        (await cp.request('GET', '/api/v1/namespaces/smoke/serviceaccounts/default')).status === 200,
      { what: 'the default ServiceAccount', timeoutMs: 30_000 },
    );
  });

  test('stop() ends every process and removes the temp dir', async () => {
    const procs = cp.processes();
    const dir = cp.dir;
    assert.ok(existsSync(dir));
    await cp.stop();
    for (const p of procs) assert.equal(groupAlive(p.pid), false, `${p.name} (${p.pid}) is gone`);
    assert.equal(existsSync(dir), false);
    await cp.stop(); // idempotent
  });
});

/**
 * Starts a control plane in a child process, reads its dir and pids, ends the child with
 * `signal`, and checks that nothing is left.
 */
async function cleanupAfter(signal: NodeJS.Signals): Promise<void> {
  const script = `
    import { startControlPlane } from ${JSON.stringify(join(REPO_ROOT, 'test/harness/controlplane.ts'))};
    const cp = await startControlPlane();
    console.log(JSON.stringify({ dir: cp.dir, pids: cp.processes().map((p) => p.pid) }));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const info = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`child exited ${child.exitCode}: ${err}`);
        const line = out.split('\n').find((l) => l.startsWith('{'));
        return line ? (JSON.parse(line) as { dir: string; pids: number[] }) : undefined;
      },
      { what: 'the child to start a control plane', timeoutMs: 120_000 },
    );
    assert.ok(existsSync(info.dir));
    child.kill(signal);
    await exited;
    await waitFor(() => !existsSync(info.dir) && info.pids.every((pid) => !groupAlive(pid)), {
      what: `every process and the dir to be gone after ${signal}`,
      timeoutMs: 15_000,
    });
  } finally {
    child.kill('SIGKILL');
  }
}

describe('cleanup when the test process dies', () => {
  test('SIGTERM: the signal hook stops everything', () => cleanupAfter('SIGTERM'));
  test('SIGKILL: the reaper stops everything', () => cleanupAfter('SIGKILL'));
});

/** Resolves the binaries in a child process with `env`, returning what it found or threw. */
async function resolveIn(
  env: NodeJS.ProcessEnv,
): Promise<{ dir?: string; name?: string; code?: string; message?: string }> {
  const script = `
    import { resolveControlPlaneBinaries } from ${JSON.stringify(join(REPO_ROOT, 'test/harness/binaries.ts'))};
    try { console.log(JSON.stringify({ dir: (await resolveControlPlaneBinaries()).dir })); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  await new Promise((r) => child.once('close', r));
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
}

describe('finding the binaries', () => {
  // Go lives outside these directories on our machines, so the build script cannot run.
  const noGoPath = '/usr/sbin:/usr/bin:/sbin:/bin';

  test('KUBEBUILDER_ASSETS with etcd and kube-apiserver is used as it is, without Go', async () => {
    const binDir = (await resolveIn(process.env)).dir;
    assert.ok(binDir, 'the default resolution works');
    const got = await resolveIn({ ...process.env, PATH: noGoPath, KUBEBUILDER_ASSETS: binDir });
    assert.equal(got.dir, binDir);
  });

  test('no binaries and no Go: a PrerequisiteError that says what to do', async (t) => {
    const empty = mkdtempSync(join(tmpdir(), 'axom-noassets-'));
    t.after(() => rmSync(empty, { recursive: true, force: true }));
    const got = await resolveIn({
      ...process.env,
      PATH: noGoPath,
      KUBEBUILDER_ASSETS: empty,
      AXOM_CONTROLPLANE_CACHE: join(empty, 'cache'),
    });
    assert.equal(got.name, 'PrerequisiteError');
    assert.equal(got.code, 'AXOM_TEST_PREREQUISITE');
    assert.match(got.message ?? '', /KUBEBUILDER_ASSETS/);
    assert.match(got.message ?? '', /Go is required/);
  });
});
