/**
 * Running the operator as the chart's ServiceAccount against a test control plane.
 *
 * `installChartIdentity` creates what `helm install` would for the operator's identity (the
 * rendered ServiceAccount, ClusterRole, Role and bindings), asks the TokenRequest API for a
 * real token of that ServiceAccount and writes a kubeconfig that authenticates with it. Code
 * under test gets that kubeconfig; the test's own setup and assertions keep the admin.
 *
 * `AXOM_TEST_OPERATOR_IDENTITY=chart` switches the controller and operator suites
 * (controller.test.ts, operator.test.ts) to this identity, which is how chart-rbac-suite.test.ts
 * proves the chart's roles are enough for everything those suites exercise. A refusal must
 * never pass silently, so the suites also record every 401/403 (request observers, the
 * operator's API-request metric and its logs) and fail on any.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { dump } from 'js-yaml';
import { createLogger, type Logger } from '../../lib/log.ts';
import { type ControlPlane, statusMessage } from '../harness/controlplane.ts';
import { runKubectl } from '../harness/kube.ts';
import { find, type Manifest, NAMESPACE, RELEASE, render } from './chart-render.ts';

export const OPERATOR_IDENTITY_ENV = 'AXOM_TEST_OPERATOR_IDENTITY';
export type OperatorIdentityMode = 'admin' | 'chart';

/** `admin` (the default) or `chart`, from AXOM_TEST_OPERATOR_IDENTITY; anything else throws. */
export function operatorIdentityMode(env: NodeJS.ProcessEnv = process.env): OperatorIdentityMode {
  const v = env[OPERATOR_IDENTITY_ENV] ?? '';
  if (v === '' || v === 'admin') return 'admin';
  if (v === 'chart') return 'chart';
  throw new Error(`${OPERATOR_IDENTITY_ENV}=${JSON.stringify(v)}: expected "chart" or "admin"`);
}

/** For suite titles: who the code under test runs as. */
export function identityTitle(mode: OperatorIdentityMode): string {
  return mode === 'chart' ? 'as the chart ServiceAccount, under the chart RBAC' : 'as the admin';
}

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

export interface ChartIdentityOptions {
  release?: string;
  /** The release namespace (created when missing). */
  namespace?: string;
  /** Chart values (an object, as for helm -f). */
  values?: Record<string, unknown>;
  /** Token lifetime; one hour by default. */
  tokenSeconds?: number;
}

/** The object names the chart tells the operator on its command line. */
export interface ChartNames {
  mutatingWebhook: string;
  /** Empty when the chart's validating webhook is off. */
  validatingWebhook: string;
  lease: string;
  certSecret: string;
  webhookService: string;
  centralSecret: string;
}

export interface ChartIdentity {
  release: string;
  namespace: string;
  serviceAccount: string;
  /** The ServiceAccount's user name and groups, for SubjectAccessReviews. */
  user: string;
  groups: string[];
  /** Everything the chart rendered. */
  docs: Manifest[];
  /** The operator container's arguments, `operator` included. */
  deploymentArgs: string[];
  names: ChartNames;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  /** The chart's webhook configurations with clientConfig pointing at `baseUrl` (caBundle left out). */
  webhookConfigurations(baseUrl: string): Manifest[];
  /** Creates them, as `helm install` would (the operator may only get and update them). */
  applyWebhookConfigurations(baseUrl: string): Promise<void>;
  /** Removes the temp dir with the token; the control plane's objects go with the control plane. */
  cleanup(): void;
}

/** Flag value of `--name=value` in rendered args; undefined when absent. */
export function argValue(args: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  const hit = args.find((a) => a.startsWith(prefix));
  return hit === undefined ? undefined : hit.slice(prefix.length);
}

function required(args: readonly string[], name: string): string {
  const v = argValue(args, name);
  if (v === undefined) throw new Error(`the chart's Deployment passes no --${name}`);
  return v;
}

async function applyDocs(cp: ControlPlane, dir: string, file: string, docs: Manifest[]): Promise<void> {
  const path = join(dir, file);
  writeFileSync(path, docs.map((d) => dump(d, { noRefs: true })).join('---\n'));
  const res = await runKubectl(cp, ['apply', '--server-side', '--field-manager=helm', '-f', path]);
  if (res.code !== 0) throw new Error(`kubectl apply ${file} exited ${res.code}: ${res.stderr.trim()}`);
}

export async function installChartIdentity(
  cp: ControlPlane,
  options: ChartIdentityOptions = {},
): Promise<ChartIdentity> {
  const release = options.release ?? RELEASE;
  const namespace = options.namespace ?? NAMESPACE;
  const dir = mkdtempSync(join(tmpdir(), 'axom-chart-identity-'));
  try {
    const ns = await cp.request('POST', '/api/v1/namespaces', { body: { metadata: { name: namespace } } });
    if (ns.status !== 201 && ns.status !== 409)
      throw new Error(`create namespace ${namespace}: HTTP ${ns.status}: ${statusMessage(ns)}`);

    const docs = await render(options.values, { release, namespace });
    await applyDocs(
      cp,
      dir,
      'rbac.yaml',
      docs.filter((d) => RBAC_KINDS.has(d.kind)),
    );
    const deployment = find(docs, 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    const deploymentArgs = [...(container.args as string[])];
    const serviceAccount = deployment.spec.template.spec.serviceAccountName as string;
    find(docs, 'ServiceAccount', serviceAccount);

    const tr = await cp.request(
      'POST',
      `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: options.tokenSeconds ?? 3600 },
        },
      },
    );
    const token = tr.body?.status?.token;
    if (tr.status !== 201 || typeof token !== 'string')
      throw new Error(`TokenRequest for ${serviceAccount}: HTTP ${tr.status}: ${statusMessage(tr)}`);
    const kubeconfigText = dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: cp.server,
            'certificate-authority-data': Buffer.from(cp.ca.certPem).toString('base64'),
          },
        },
      ],
      users: [{ name: serviceAccount, user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'c', user: serviceAccount, namespace } }],
      'current-context': 'sa',
    });
    const kubeconfigPath = join(dir, 'sa.kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigText, { mode: 0o600 });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(kubeconfigText);

    const names: ChartNames = {
      mutatingWebhook: required(deploymentArgs, 'mutating-webhook-name'),
      validatingWebhook: required(deploymentArgs, 'validating-webhook-name'),
      lease: required(deploymentArgs, 'lease-name'),
      certSecret: argValue(deploymentArgs, 'cert-secret-name') ?? '',
      webhookService: required(deploymentArgs, 'webhook-service'),
      centralSecret: required(deploymentArgs, 'central-secret-name'),
    };
    const webhookConfigurations = (baseUrl: string): Manifest[] =>
      docs
        .filter((d) => /WebhookConfiguration$/.test(d.kind))
        .map((cfg) => {
          const copy = structuredClone(cfg);
          for (const w of copy.webhooks) {
            w.clientConfig = { url: `${baseUrl.replace(/\/+$/, '')}${w.clientConfig.service.path}` };
          }
          return copy;
        });
    return {
      release,
      namespace,
      serviceAccount,
      user: `system:serviceaccount:${namespace}:${serviceAccount}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
      docs,
      deploymentArgs,
      names,
      kubeconfigPath,
      kubeConfig,
      webhookConfigurations,
      applyWebhookConfigurations: (baseUrl) =>
        applyDocs(cp, dir, 'webhooks.yaml', webhookConfigurations(baseUrl)),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

// --- refusals ---------------------------------------------------------------------------------

/** HTTP statuses that mean "not allowed": what a missing RBAC rule looks like. */
export const isRefusal = (code: number): boolean => code === 401 || code === 403;

/** What a refused request looks like in the operator's logs (the API server's Status text). */
export const REFUSAL_LOG = /forbidden|unauthorized/i;

/** Lines of `axom_operator_api_requests_total` with a 401/403 code, from a /metrics text. */
export function refusedRequestLines(metricsText: string): string[] {
  return metricsText
    .split('\n')
    .filter((l) => /^axom_operator_api_requests_total\{.*code="40[13]"/.test(l) && !/\s0$/.test(l));
}

/** One refused request or log line, and when it was seen (for windows such as a restart). */
export interface Refusal {
  at: number;
  what: string;
}

/**
 * A logger for in-process code under test that keeps (up to `max`) lines mentioning a refusal,
 * with the time each was written, and otherwise writes nothing.
 */
export function refusalLogger(max = 50): { logger: Logger; refusals: Refusal[] } {
  const refusals: Refusal[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line && REFUSAL_LOG.test(line) && refusals.length < max)
          refusals.push({ at: Date.now(), what: line.slice(0, 2000) });
      }
      done();
    },
  });
  return { logger: createLogger({ level: 'warn', destination: sink }), refusals };
}
