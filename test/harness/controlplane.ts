/**
 * A real Kubernetes control plane for integration tests: etcd and kube-apiserver (and, on
 * request, kube-controller-manager for garbage collection) built from their Go modules,
 * started on free loopback ports with a PKI made for this run.
 *
 * Cleanup is guaranteed four ways: `stop()`; a process 'exit' hook; SIGINT/SIGTERM/SIGHUP
 * handlers; and an out-of-process reaper that kills the process groups and removes the
 * temp dir when the test process dies without running any of those (e.g. SIGKILL).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1LabelSelector, V1MatchCondition, V1RuleWithOperations } from '@kubernetes/client-node';
import { KubeConfig } from '@kubernetes/client-node';
import { dump, loadAll } from 'js-yaml';
import { PrerequisiteError } from '../../lib/errors.ts';
import { API_GROUP_VERSION, POLICY_PLURAL } from '../../lib/names.ts';
import { type ControlPlaneBinaries, REPO_ROOT, resolveControlPlaneBinaries } from './binaries.ts';
import { createServiceAccountKeyPair, createTestCA, type TestCA } from './pki.ts';
import { ManagedProcess } from './process.ts';

export interface ControlPlaneOptions {
  /** Also start kube-controller-manager (garbage collector, namespace, service-account tokens). */
  withControllerManager?: boolean;
  /** Copy the components' output to stderr while they run (it always goes to log files). */
  log?: boolean;
  /** How long to wait for each component to become ready (default 90 s: a busy 2-core machine). */
  readyTimeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: any;
  text: string;
  /** Response headers (e.g. `warning`, which carries field-validation warnings). */
  headers: IncomingHttpHeaders;
}

export interface RequestOptions {
  body?: unknown;
  /** Defaults to application/json (or the patch type's own for PATCH bodies callers pass). */
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
}

export interface WebhookOptions {
  /** Name of the Mutating/ValidatingWebhookConfiguration. */
  name: string;
  /** Name of the single webhook entry (needs three DNS segments); defaults to `<name>.webhook.axom.test`. */
  webhookName?: string;
  /** HTTPS URL the API server calls, e.g. `https://127.0.0.1:9443/mutate-v1-pod`. */
  url: string;
  /** PEM of the CA that signed the webhook server's certificate. */
  caBundle: string;
  failurePolicy?: 'Fail' | 'Ignore';
  /** Defaults: pods CREATE for mutating, observationpolicies CREATE/UPDATE for validating. */
  rules?: V1RuleWithOperations[];
  namespaceSelector?: V1LabelSelector;
  objectSelector?: V1LabelSelector;
  matchConditions?: V1MatchCondition[];
  matchPolicy?: 'Exact' | 'Equivalent';
  timeoutSeconds?: number;
  /** Mutating webhooks only. */
  reinvocationPolicy?: 'Never' | 'IfNeeded';
  sideEffects?: 'None' | 'NoneOnDryRun';
}

export interface WebhookRegistration {
  kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
  name: string;
  delete(): Promise<void>;
}

interface CrdDocument {
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
}

interface Condition {
  type: string;
  status: string;
  message?: string;
}

const FIELD_MANAGER = 'axom-test-harness';
const SERVICE_CIDR = '10.0.0.0/24';
const SERVICE_IP = '10.0.0.1'; // first address of the range: the `kubernetes` Service
const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Every control plane still running in this process, for the exit and signal hooks. */
const live = new Set<ControlPlane>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const cp of live) cp.killNow();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const cp of live) cp.killNow();
      // If we are the only listener, keep the default behaviour (die of the signal).
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The reaper outlives a killed test process: it waits for the parent to vanish, then kills
// every process group listed in <dir>/*.pgid and removes <dir>. stop() ends it normally.
const REAPER_SCRIPT = `
parent=$1; dir=$2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
for f in "$dir"/*.pgid; do
  pg=$(cat "$f" 2>/dev/null)
  [ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null
done
rm -rf "$dir"
`;

export class ControlPlane {
  readonly certDir: string;
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly server: string;
  readonly binDir: string;
  /** gitVersion reported by /version, e.g. `v1.35.4`. */
  version = '';
  /** The CA that signed the API server's and the admin's certificates; tests may issue more. */
  readonly ca: TestCA;

  /** @internal use startControlPlane() */
  readonly dir: string;
  private readonly binaries: ControlPlaneBinaries;
  private readonly options: ControlPlaneOptions;
  private readonly admin: { certPem: string; keyPem: string };
  private readonly apiserverArgs: string[];
  private readonly reaper: ManagedProcess;
  private etcd: ManagedProcess | undefined;
  private apiserver: ManagedProcess | undefined;
  private controllerManager: ManagedProcess | undefined;
  private agent: Agent;
  private stopped = false;
  private restarts = 0;

  /** @internal use startControlPlane() */
  constructor(init: {
    dir: string;
    binaries: ControlPlaneBinaries;
    options: ControlPlaneOptions;
    ca: TestCA;
    admin: { certPem: string; keyPem: string };
    kubeconfigPath: string;
    kubeConfig: KubeConfig;
    server: string;
    apiserverArgs: string[];
    reaper: ManagedProcess;
  }) {
    this.dir = init.dir;
    this.certDir = join(init.dir, 'pki');
    this.binaries = init.binaries;
    this.binDir = init.binaries.dir;
    this.options = init.options;
    this.ca = init.ca;
    this.admin = init.admin;
    this.kubeconfigPath = init.kubeconfigPath;
    this.kubeConfig = init.kubeConfig;
    this.server = init.server;
    this.apiserverArgs = init.apiserverArgs;
    this.reaper = init.reaper;
    this.agent = this.newAgent();
  }

  private newAgent(): Agent {
    return new Agent({
      ca: this.ca.certPem,
      cert: this.admin.certPem,
      key: this.admin.keyPem,
      keepAlive: true,
    });
  }

  private get readyTimeoutMs(): number {
    return this.options.readyTimeoutMs ?? 90_000;
  }

  // --- raw API access ---------------------------------------------------------------------

  /**
   * One request to the API server as the admin user. Never throws for an HTTP status:
   * validation tests look at the status and the Status message.
   */
  request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const payload =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, agent: this.agent, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, text, headers: res.headers });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer in 30s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Server-side apply of any object (JSON body) at its REST path; throws on a non-2xx answer. */
  async apply(path: string, object: unknown): Promise<ApiResponse> {
    const res = await this.request('PATCH', path, {
      body: object,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: true },
    });
    if (res.status >= 300) throw new Error(`apply ${path}: HTTP ${res.status}: ${statusMessage(res)}`);
    return res;
  }

  // --- lifecycle ----------------------------------------------------------------------------

  /** @internal */
  async startEtcd(): Promise<void> {
    const dataDir = join(this.dir, 'etcd');
    for (let attempt = 1; ; attempt++) {
      const [clientPort, peerPort] = [await freePort(), await freePort()];
      const client = `http://127.0.0.1:${clientPort}`;
      const peer = `http://127.0.0.1:${peerPort}`;
      const proc = this.spawn('etcd', this.binaries.etcd, [
        '--name=default',
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=default=${peer}`,
        // Tests throw the data away; skipping fsync makes etcd fast on shared disks.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ]);
      this.etcd = proc;
      try {
        await this.waitUntil(proc, 'etcd /health', async () => {
          const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(2000) });
          return res.ok && ((await res.json()) as { health?: string }).health === 'true';
        });
        this.etcdUrl = client;
        return;
      } catch (err) {
        await proc.stop();
        if (attempt >= 3 || !/address already in use/.test(proc.tail())) throw err;
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }

  /** @internal */
  etcdUrl = '';

  /** @internal */
  async startApiServer(): Promise<void> {
    const proc = this.spawn('kube-apiserver', this.binaries.kubeApiserver, [
      ...this.apiserverArgs,
      `--etcd-servers=${this.etcdUrl}`,
    ]);
    this.apiserver = proc;
    await this.waitUntil(proc, 'kube-apiserver /readyz', async () => {
      const res = await this.request('GET', '/readyz');
      return res.status === 200 && res.text.trim() === 'ok';
    });
  }

  /**
   * Stops kube-apiserver and starts it again on the same port against the same etcd: data
   * survives, watches and connections break (what controller tests want to see).
   */
  async restartApiServer(): Promise<void> {
    this.assertRunning();
    await this.apiserver?.stop();
    // Keep-alive sockets to the old process are dead now.
    this.agent.destroy();
    this.agent = this.newAgent();
    this.restarts++;
    await this.startApiServer();
  }

  /**
   * Starts kube-controller-manager with just the controllers tests need: the garbage
   * collector (ownerReference cascades), namespace deletion and service-account tokens.
   */
  async startControllerManager(): Promise<void> {
    this.assertRunning();
    if (this.controllerManager?.running) return;
    const kcm = this.binaries.kubeControllerManager;
    if (!kcm) {
      throw new PrerequisiteError(
        `kube-controller-manager is not in ${this.binDir}: KUBEBUILDER_ASSETS holds only etcd and kube-apiserver; ` +
          'unset it to build all three with scripts/build-controlplane.sh',
      );
    }
    const port = await freePort();
    const proc = this.spawn('kube-controller-manager', kcm, [
      `--kubeconfig=${this.kubeconfigPath}`,
      `--authentication-kubeconfig=${this.kubeconfigPath}`,
      `--authorization-kubeconfig=${this.kubeconfigPath}`,
      '--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller',
      `--service-account-private-key-file=${join(this.certDir, 'sa.key')}`,
      `--root-ca-file=${join(this.certDir, 'ca.crt')}`,
      '--use-service-account-credentials=false',
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(this.dir, 'kcm')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--concurrent-gc-syncs=5',
    ]);
    this.controllerManager = proc;
    const insecure = new Agent({ rejectUnauthorized: false });
    try {
      await this.waitUntil(proc, 'kube-controller-manager /healthz', () =>
        probe(`https://127.0.0.1:${port}/healthz`, insecure),
      );
    } finally {
      insecure.destroy();
    }
  }

  async stopControllerManager(): Promise<void> {
    await this.controllerManager?.stop();
    this.controllerManager = undefined;
  }

  /** Stops every process and removes every file; safe to call more than once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.controllerManager?.stop();
      await this.apiserver?.stop();
      await this.etcd?.stop();
    } finally {
      this.agent.destroy();
      await this.reaper.stop(1000);
      rmSync(this.dir, { recursive: true, force: true });
      live.delete(this);
    }
  }

  /** @internal synchronous kill for exit/signal hooks */
  killNow(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of [this.controllerManager, this.apiserver, this.etcd, this.reaper]) p?.killNow();
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // the reaper may be removing it too
    }
    live.delete(this);
  }

  /** The components' process (group) ids, for tests of the cleanup guarantees. */
  processes(): { name: string; pid: number; running: boolean }[] {
    const all = [this.etcd, this.apiserver, this.controllerManager, this.reaper];
    return all.flatMap((p) =>
      p?.child.pid === undefined ? [] : [{ name: p.name, pid: p.child.pid, running: p.running }],
    );
  }

  private assertRunning(): void {
    if (this.stopped) throw new Error('the control plane has been stopped');
  }

  private spawn(name: string, command: string, args: string[]): ManagedProcess {
    const suffix = name === 'kube-apiserver' && this.restarts > 0 ? `.${this.restarts}` : '';
    return new ManagedProcess({
      name,
      command,
      args,
      logFile: join(this.dir, `${name}${suffix}.log`),
      pidFile: join(this.dir, `${name}.pgid`),
      echo: this.options.log === true,
    });
  }

  /** Polls `ready` until it returns true; fails early when the process exits. */
  private async waitUntil(proc: ManagedProcess, what: string, ready: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      if (!proc.running) break;
      try {
        if (await ready()) return;
        lastError = 'not ready yet';
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      await Promise.race([sleep(250), proc.exited]);
    }
    const why = proc.running
      ? `${what} did not answer ok within ${this.readyTimeoutMs} ms (last: ${lastError})`
      : `${proc.name} ${proc.exitDescription} before ${what} answered ok`;
    throw new Error(`${why}\n--- ${proc.logFile} (tail) ---\n${proc.tail()}`);
  }

  // --- CRDs and webhooks --------------------------------------------------------------------

  /**
   * Applies CustomResourceDefinitions (default: every crds/*.yaml) and waits until each is
   * Established and its resource is served. Returns the CRD names.
   */
  async installCrds(paths?: readonly string[]): Promise<string[]> {
    this.assertRunning();
    const files = paths ?? defaultCrdFiles();
    const crds: CrdDocument[] = [];
    for (const file of files) {
      for (const doc of loadAll(readFileSync(file, 'utf8'))) {
        if ((doc as Partial<CrdDocument> | null)?.kind === 'CustomResourceDefinition')
          crds.push(doc as CrdDocument);
      }
    }
    if (crds.length === 0)
      throw new PrerequisiteError(`no CustomResourceDefinition found in ${files.join(', ')}`);
    for (const crd of crds) {
      await this.apply(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, crd);
    }
    for (const crd of crds) await this.waitForCrd(crd);
    return crds.map((c) => c.metadata.name);
  }

  private async waitForCrd(crd: CrdDocument): Promise<void> {
    const name = crd.metadata.name;
    const deadline = Date.now() + 30_000;
    let last = '';
    while (Date.now() < deadline) {
      const res = await this.request(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      const conditions: Condition[] = res.body?.status?.conditions ?? [];
      const established = conditions.find((c) => c.type === 'Established');
      const notAccepted = conditions.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
      if (notAccepted) throw new Error(`CRD ${name}: names not accepted: ${notAccepted.message}`);
      last = established
        ? `Established=${established.status} ${established.message ?? ''}`
        : 'no conditions yet';
      if (established?.status === 'True') {
        // Established can precede the discovery document by a moment; wait until every
        // served version lists the resource so the first create does not 404.
        const { group, names } = crd.spec;
        let served = true;
        for (const v of crd.spec.versions.filter((v) => v.served)) {
          const disc = await this.request('GET', `/apis/${group}/${v.name}`);
          const resources: { name: string }[] = disc.body?.resources ?? [];
          if (!resources.some((r) => r.name === names.plural)) served = false;
        }
        if (served) return;
        last = 'Established but not yet in discovery';
      }
      await sleep(100);
    }
    throw new Error(`CRD ${name} did not become Established within 30 s (${last})`);
  }

  registerMutatingWebhook(options: WebhookOptions): Promise<WebhookRegistration> {
    return this.registerWebhook('MutatingWebhookConfiguration', options);
  }

  registerValidatingWebhook(options: WebhookOptions): Promise<WebhookRegistration> {
    return this.registerWebhook('ValidatingWebhookConfiguration', options);
  }

  private async registerWebhook(
    kind: WebhookRegistration['kind'],
    o: WebhookOptions,
  ): Promise<WebhookRegistration> {
    this.assertRunning();
    const mutating = kind === 'MutatingWebhookConfiguration';
    const defaultRules: V1RuleWithOperations[] = mutating
      ? [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: '*' }]
      : [
          {
            operations: ['CREATE', 'UPDATE'],
            apiGroups: [API_GROUP_VERSION.split('/')[0] ?? ''],
            apiVersions: [API_GROUP_VERSION.split('/')[1] ?? ''],
            resources: [POLICY_PLURAL],
            scope: '*',
          },
        ];
    const webhook: Record<string, unknown> = {
      name: o.webhookName ?? `${o.name}.webhook.axom.test`,
      clientConfig: { url: o.url, caBundle: Buffer.from(o.caBundle).toString('base64') },
      rules: o.rules ?? defaultRules,
      failurePolicy: o.failurePolicy ?? 'Fail',
      sideEffects: o.sideEffects ?? 'None',
      admissionReviewVersions: ['v1'],
      timeoutSeconds: o.timeoutSeconds ?? 10,
    };
    if (o.namespaceSelector) webhook.namespaceSelector = o.namespaceSelector;
    if (o.objectSelector) webhook.objectSelector = o.objectSelector;
    if (o.matchConditions) webhook.matchConditions = o.matchConditions;
    if (o.matchPolicy) webhook.matchPolicy = o.matchPolicy;
    if (mutating && o.reinvocationPolicy) webhook.reinvocationPolicy = o.reinvocationPolicy;
    const resource = mutating ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations';
    const path = `/apis/admissionregistration.k8s.io/v1/${resource}/${o.name}`;
    await this.apply(path, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind,
      metadata: { name: o.name },
      webhooks: [webhook],
    });
    return {
      kind,
      name: o.name,
      delete: async () => {
        const res = await this.request('DELETE', path);
        if (res.status >= 300 && res.status !== 404) {
          throw new Error(`delete ${kind} ${o.name}: HTTP ${res.status}: ${statusMessage(res)}`);
        }
      },
    };
  }
}

function defaultCrdFiles(): string[] {
  const dir = join(REPO_ROOT, 'crds');
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  } catch {
    // reported below
  }
  if (names.length === 0) throw new PrerequisiteError(`no CRD manifests in ${dir}`);
  return names.sort().map((f) => join(dir, f));
}

function probe(url: string, agent: Agent): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { agent, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The human-readable part of an API error (a metav1.Status message), else the raw text. */
export function statusMessage(res: ApiResponse): string {
  return typeof res.body?.message === 'string' ? res.body.message : res.text.slice(0, 2000);
}

/**
 * Starts etcd and kube-apiserver (plus kube-controller-manager when asked) and resolves once
 * /readyz says ok. On any failure everything started so far is stopped and removed.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = await resolveControlPlaneBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'axom-cp-'));
  const pki = join(dir, 'pki');
  installHooks();

  // The reaper goes first so that even a crash during startup leaves nothing behind.
  const reaper = new ManagedProcess({
    name: 'reaper',
    command: 'bash',
    args: ['-c', REAPER_SCRIPT, 'reaper', String(process.pid), dir],
    logFile: '/dev/null',
  });
  reaper.child.unref();

  let cp: ControlPlane | undefined;
  try {
    mkdirSync(pki);

    const ca = await createTestCA('axom-test-cluster-ca');
    const serving = await ca.issue({
      commonName: 'kube-apiserver',
      usage: 'server',
      dnsNames: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ipAddresses: ['127.0.0.1', SERVICE_IP],
    });
    const admin = await ca.issue({
      commonName: 'axom-test-admin',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const sa = createServiceAccountKeyPair();
    const files = {
      'ca.crt': ca.certPem,
      'apiserver.crt': serving.certPem,
      'apiserver.key': serving.keyPem,
      'admin.crt': admin.certPem,
      'admin.key': admin.keyPem,
      'sa.key': sa.privateKeyPem,
      'sa.pub': sa.publicKeyPem,
    };
    for (const [name, content] of Object.entries(files))
      writeFileSync(join(pki, name), content, { mode: 0o600 });

    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const kubeconfigText = dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'axom-test', cluster: { server, 'certificate-authority-data': b64(ca.certPem) } }],
      users: [
        {
          name: 'axom-test-admin',
          user: { 'client-certificate-data': b64(admin.certPem), 'client-key-data': b64(admin.keyPem) },
        },
      ],
      contexts: [
        {
          name: 'axom-test',
          context: { cluster: 'axom-test', user: 'axom-test-admin', namespace: 'default' },
        },
      ],
      'current-context': 'axom-test',
      preferences: {},
    });
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigText, { mode: 0o600 });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(kubeconfigText);

    const apiserverArgs = [
      '--advertise-address=127.0.0.1',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, 'apiserver')}`,
      `--client-ca-file=${join(pki, 'ca.crt')}`,
      `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
      `--service-account-issuer=${SA_ISSUER}`,
      `--service-account-key-file=${join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
      '--authorization-mode=RBAC',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // Without a controller-manager nothing creates the `default` ServiceAccount, and the
      // ServiceAccount admission plugin would then refuse every pod. The webhook plugins
      // (MutatingAdmissionWebhook, ValidatingAdmissionWebhook) stay on by default.
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      // Fewer background goroutines on a small shared machine.
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
    ];

    cp = new ControlPlane({
      dir,
      binaries,
      options,
      ca,
      admin,
      kubeconfigPath,
      kubeConfig,
      server,
      apiserverArgs,
      reaper,
    });
    live.add(cp);
    await cp.startEtcd();
    await cp.startApiServer();
    const version = await cp.request('GET', '/version');
    cp.version = String(version.body?.gitVersion ?? 'unknown');
    if (options.withControllerManager) await cp.startControllerManager();
    return cp;
  } catch (err) {
    if (cp) await cp.stop();
    else {
      await reaper.stop(1000);
      rmSync(dir, { recursive: true, force: true });
    }
    throw err;
  }
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

// Re-exported so tests need one import for the harness.
export { findHelm, findKubectl } from './binaries.ts';
