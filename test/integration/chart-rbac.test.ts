/**
 * The operator run under the chart's own RBAC: the rendered ServiceAccount, ClusterRole,
 * Role, bindings and webhook configurations are created in a real control plane, and
 * `axom-observer operator` runs as that ServiceAccount (a real token from the TokenRequest API)
 * with the Deployment's own flags, self-signed certificates included. It must provision its
 * certificate Secret, update the webhook configurations, reconcile policies to Ready, write
 * their ConfigMap and Secret, hold its Lease and serve both admission webhooks — with not one
 * request refused, so the roles are enough; and the ServiceAccount may do nothing else that
 * matters, so they are tight.
 *
 * The release is not called axom-observer, so every cluster-scoped and certificate name comes
 * from the release (what lets two releases share a cluster) and reaches the operator only
 * through the flags the chart passes. The controller and operator suites under the same
 * identity are chart-rbac-suite.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ANNOTATION_INJECT,
  ANNOTATION_POLICY,
  ANNOTATION_STATUS,
  API_GROUP_VERSION,
  apiKeySecretName,
  POLICY_KIND,
  rulesConfigMapName,
  SIDECAR_CONTAINER_NAME,
} from '../../lib/names.ts';
import { DEFAULT_WEBHOOK_CONFIGURATION_NAME } from '../../operator/certs/index.ts';
import { DEFAULT_WEBHOOK_TLS_SECRET } from '../../operator/webhook.ts';
import { REPO_ROOT } from '../harness/binaries.ts';
import { type ControlPlane, freePort, startControlPlane, statusMessage } from '../harness/controlplane.ts';
import { waitFor } from '../harness/kube.ts';
import { ManagedProcess } from '../harness/process.ts';
import { type ChartIdentity, installChartIdentity, refusedRequestLines } from './chart-identity.ts';
import { CHART_DIR, type Manifest, NAMESPACE } from './chart-render.ts';

const TEAM = 'team-a';
/** Not the chart's name, so that no derived name equals an operator default. */
const RELEASE = 'obs-a';
const FULLNAME = `${RELEASE}-axom-observer`;
const CENTRAL_KEY = 'central-key-value-for-test';
/** Non-default sidecar settings, to see them reach an injected pod. */
const SIDECAR_VALUES = {
  sidecar: { resources: { requests: { cpu: '20m' }, limits: { cpu: '' } }, logLevel: 'debug' },
  // The central key is sent only to listed backends (the 'exporting' policy below uses this one).
  centralApiKey: { allowedBackends: ['https://ingest.example.com/'] },
};

describe('the operator under the chart RBAC (impersonating its ServiceAccount)', () => {
  let cp: ControlPlane;
  let dir: string;
  let chart: ChartIdentity;
  let operator: ManagedProcess | undefined;
  let metricsPort = 0;

  const must = async (method: string, path: string, body?: unknown) => {
    const res = await cp.request(method, path, { body });
    assert.ok(res.status < 300, `${method} ${path}: HTTP ${res.status}: ${statusMessage(res)}`);
    return res.body;
  };
  const metrics = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    return res.text();
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'axom-chart-rbac-'));
    cp = await startControlPlane();
    await cp.installCrds([join(CHART_DIR, 'crds/observationpolicy.yaml')]);
    await must('POST', '/api/v1/namespaces', { metadata: { name: TEAM } });

    const webhookPort = await freePort();
    metricsPort = await freePort();

    // The chart's RBAC and a real token of its ServiceAccount; then its webhook configurations,
    // as `helm install` would create them, with clientConfig pointing at this process instead of
    // the in-cluster Service. As in the chart's default certificate mode, caBundle is left to
    // the operator.
    chart = await installChartIdentity(cp, {
      release: RELEASE,
      namespace: NAMESPACE,
      values: SIDECAR_VALUES,
    });
    await chart.applyWebhookConfigurations(`https://localhost:${webhookPort}`);

    // The central API key, in the release namespace, where the chart tells the operator to look.
    await must('POST', `/api/v1/namespaces/${NAMESPACE}/secrets`, {
      metadata: { name: chart.names.centralSecret },
      stringData: { 'api-key': CENTRAL_KEY },
    });

    // The Deployment's own arguments, then what running outside the cluster needs.
    operator = new ManagedProcess({
      name: 'operator',
      command: process.execPath,
      args: [
        join(REPO_ROOT, 'cli/main.ts'),
        ...chart.deploymentArgs,
        `--kubeconfig=${chart.kubeconfigPath}`,
        // The chart's default (--cert-mode=self-signed) stays: the operator makes its CA and serving
        // certificate in a Secret and brings the webhook configurations up to date, all under the
        // chart's RBAC. Outside the cluster it names this process's URL in them.
        `--webhook-url=https://localhost:${webhookPort}`,
        `--webhook-port=${webhookPort}`,
        `--metrics-address=127.0.0.1:${metricsPort}`,
        '--lease-duration=4s',
        '--renew-deadline=3s',
        '--retry-period=500ms',
        '--log-level=debug',
      ],
      env: { ...process.env, POD_NAMESPACE: NAMESPACE, KUBECONFIG: '' },
      cwd: REPO_ROOT,
      logFile: join(dir, 'operator.log'),
    });
    await waitFor(
      async () => {
        if (!operator?.running)
          throw new Error(`operator ${operator?.exitDescription}:\n${operator?.tail(40)}`);
        const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
        return res.ok;
      },
      { what: 'the operator to be ready', timeoutMs: 60_000, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- operator log ---\n${operator?.tail(40)}`);
    });
  });

  after(async () => {
    await operator?.stop();
    await cp?.stop();
    chart?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const policy = (name: string, spec: Manifest) => ({
    apiVersion: API_GROUP_VERSION,
    kind: POLICY_KIND,
    metadata: { name, namespace: TEAM },
    spec,
  });
  const readyCondition = (name: string) =>
    waitFor(
      async () => {
        const res = await cp.request(
          'GET',
          `/apis/${API_GROUP_VERSION}/namespaces/${TEAM}/observationpolicies/${name}`,
        );
        const ready = res.body?.status?.conditions?.find((c: Manifest) => c.type === 'Ready');
        return ready?.status === 'True' ? res.body : undefined;
      },
      { what: `policy ${name} Ready=True`, timeoutMs: 30_000 },
    );

  it('takes every object name from the release, through the flags the chart passes', () => {
    assert.deepEqual(chart.names, {
      mutatingWebhook: FULLNAME,
      validatingWebhook: FULLNAME,
      lease: `${FULLNAME}-operator`,
      certSecret: `${FULLNAME}-webhook-tls`,
      webhookService: `${FULLNAME}-webhook`,
      centralSecret: `${FULLNAME}-api-key`,
    });
    assert.equal(chart.serviceAccount, FULLNAME);
    assert.notEqual(FULLNAME, DEFAULT_WEBHOOK_CONFIGURATION_NAME);
  });

  it("provisions its webhook certificate and writes the CA into the chart's webhook configurations", async () => {
    const secret = await must('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${chart.names.certSecret}`);
    assert.ok(secret.data['tls.crt'] && secret.data['tls.key']);
    // Nothing under the default names: the operator followed the flags.
    const stray = await cp.request(
      'GET',
      `/api/v1/namespaces/${NAMESPACE}/secrets/${DEFAULT_WEBHOOK_TLS_SECRET}`,
    );
    assert.equal(stray.status, 404);
    for (const [kind, name] of [
      ['mutatingwebhookconfigurations', chart.names.mutatingWebhook],
      ['validatingwebhookconfigurations', chart.names.validatingWebhook],
    ] as const) {
      const cfg = await must('GET', `/apis/admissionregistration.k8s.io/v1/${kind}/${name}`);
      assert.equal(cfg.webhooks.length, 1);
      assert.ok(cfg.webhooks[0].clientConfig.caBundle, `${kind} has no caBundle`);
      const other = await cp.request(
        'GET',
        `/apis/admissionregistration.k8s.io/v1/${kind}/${DEFAULT_WEBHOOK_CONFIGURATION_NAME}`,
      );
      assert.equal(other.status, 404, `${kind}/${DEFAULT_WEBHOOK_CONFIGURATION_NAME} was created`);
    }
  });

  it('takes the Lease in its namespace', async () => {
    const lease = await waitFor(
      async () => {
        const res = await cp.request(
          'GET',
          `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${chart.names.lease}`,
        );
        return res.status === 200 && res.body.spec?.holderIdentity ? res.body : undefined;
      },
      { what: 'the leader Lease', timeoutMs: 20_000 },
    );
    assert.ok(lease.spec.holderIdentity);
  });

  it('reconciles policies to Ready: rules ConfigMap, and the API-key Secret from the central Secret', async () => {
    await must(
      'POST',
      `/apis/${API_GROUP_VERSION}/namespaces/${TEAM}/observationpolicies`,
      policy('minimal', {}),
    );
    await must(
      'POST',
      `/apis/${API_GROUP_VERSION}/namespaces/${TEAM}/observationpolicies`,
      policy('exporting', { export: { enabled: true, backendUrl: 'https://ingest.example.com/v1/signals' } }),
    );
    const minimal = await readyCondition('minimal');
    assert.equal(minimal.status.configMapName, rulesConfigMapName('minimal'));
    const cm = await must('GET', `/api/v1/namespaces/${TEAM}/configmaps/${rulesConfigMapName('minimal')}`);
    assert.match(cm.data['rules.yaml'], /version: 1/);
    const exporting = await readyCondition('exporting');
    assert.equal(exporting.status.secretName, apiKeySecretName('exporting'));
    const secret = await must('GET', `/api/v1/namespaces/${TEAM}/secrets/${apiKeySecretName('exporting')}`);
    assert.equal(Buffer.from(secret.data['api-key'], 'base64').toString(), CENTRAL_KEY);
  });

  it('serves the validating webhook: a policy with a regex that does not compile is refused', async () => {
    const res = await cp.request(
      'POST',
      `/apis/${API_GROUP_VERSION}/namespaces/${TEAM}/observationpolicies`,
      {
        body: policy('broken', { rules: [{ name: 'bad', match: { path: '([unclosed' } }] }),
      },
    );
    assert.equal(res.status, 422, res.text);
    assert.match(statusMessage(res), /admission webhook "validate\.observer\.axom\.ai" denied the request/);
    assert.match(statusMessage(res), /spec\.rules\[0\]\.match\.path: regex does not compile/);
  });

  it('serves the mutating webhook: an annotated pod gets the sidecar, but not in excluded namespaces', async () => {
    const pod = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, annotations: { [ANNOTATION_INJECT]: 'true', [ANNOTATION_POLICY]: 'minimal' } },
      spec: { containers: [{ name: 'agent', image: 'registry.example.com/agent:1' }] },
    });
    const injected = await must('POST', `/api/v1/namespaces/${TEAM}/pods`, pod('agent'));
    const all = [...(injected.spec.initContainers ?? []), ...injected.spec.containers];
    const sidecar = all.find((c: Manifest) => c.name === SIDECAR_CONTAINER_NAME);
    assert.ok(sidecar, JSON.stringify(injected.spec));
    // The chart's sidecar values, through the operator's flags: an empty limit is left out.
    assert.deepEqual(sidecar.resources, {
      requests: { cpu: '20m', memory: '64Mi' },
      limits: { memory: '384Mi' },
    });
    assert.ok(
      sidecar.env.some((e: Manifest) => e.name === 'AXOM_LOG_LEVEL' && e.value === 'debug'),
      JSON.stringify(sidecar.env),
    );
    assert.equal(injected.metadata.annotations[ANNOTATION_STATUS], 'injected');
    assert.equal(injected.metadata.annotations[ANNOTATION_POLICY], 'minimal');
    // The chart's namespaceSelector keeps its own and the system namespaces away from the webhook.
    for (const ns of [NAMESPACE, 'kube-system']) {
      const skipped = await must('POST', `/api/v1/namespaces/${ns}/pods`, pod('agent'));
      const names = [...(skipped.spec.initContainers ?? []), ...skipped.spec.containers].map(
        (c: Manifest) => c.name,
      );
      assert.deepEqual(names, ['agent'], `pod in ${ns}`);
      assert.equal(
        skipped.metadata.annotations[ANNOTATION_STATUS],
        undefined,
        `pod in ${ns} never reached the webhook`,
      );
    }
  });

  it('was never refused by the API server (the roles are enough)', async () => {
    const text = await metrics();
    assert.deepEqual(refusedRequestLines(text), [], 'requests refused under the chart RBAC');
    assert.match(text, /^axom_operator_api_requests_total\{/m);
    assert.match(text, /^axom_admission_requests_total\{webhook="mutate",result="injected"\} 1/m);
    const log = readFileSync(join(dir, 'operator.log'), 'utf8');
    assert.doesNotMatch(log, /forbidden/i);
    assert.doesNotMatch(log, new RegExp(CENTRAL_KEY), 'the API key never reaches the log');
  });

  it('grants nothing beyond what the operator needs (SubjectAccessReview)', async () => {
    const can = async (attrs: Record<string, string>): Promise<boolean> => {
      const res = await must('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: chart.user, groups: chart.groups, resourceAttributes: attrs },
      });
      return res.status.allowed === true;
    };
    // What it uses.
    assert.ok(await can({ verb: 'watch', group: 'observer.axom.ai', resource: 'observationpolicies' }));
    assert.ok(
      await can({
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: NAMESPACE,
        name: chart.names.lease,
      }),
    );
    assert.ok(
      await can({ verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: NAMESPACE }),
    );
    for (const resource of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      assert.ok(
        await can({ verb: 'update', group: 'admissionregistration.k8s.io', resource, name: FULLNAME }),
      );
    }
    // What it must not be able to do.
    const denied: Array<Record<string, string>> = [
      { verb: 'create', resource: 'pods', namespace: TEAM },
      { verb: 'delete', resource: 'pods', namespace: TEAM },
      { verb: 'create', group: 'observer.axom.ai', resource: 'observationpolicies', namespace: TEAM },
      { verb: 'update', group: 'observer.axom.ai', resource: 'observationpolicies', namespace: TEAM },
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: TEAM },
      {
        verb: 'patch',
        group: 'admissionregistration.k8s.io',
        resource: 'mutatingwebhookconfigurations',
        name: 'someone-else',
      },
      // Another release's configurations and Lease (the default release's names).
      {
        verb: 'update',
        group: 'admissionregistration.k8s.io',
        resource: 'mutatingwebhookconfigurations',
        name: DEFAULT_WEBHOOK_CONFIGURATION_NAME,
      },
      {
        verb: 'update',
        group: 'admissionregistration.k8s.io',
        resource: 'validatingwebhookconfigurations',
        name: DEFAULT_WEBHOOK_CONFIGURATION_NAME,
      },
      {
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: NAMESPACE,
        name: 'axom-observer-operator',
      },
      { verb: 'create', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations' },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
      { verb: 'update', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
      { verb: 'create', resource: 'pods', subresource: 'exec', namespace: TEAM },
      { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: NAMESPACE },
      { verb: 'delete', resource: 'namespaces' },
    ];
    for (const attrs of denied) assert.equal(await can(attrs), false, `may ${JSON.stringify(attrs)}`);
  });

  it('stops cleanly on SIGTERM and hands the Lease back', async () => {
    assert.ok(operator);
    await operator.stop(15_000);
    assert.equal(await operator.exited, 0, operator.tail(20));
    const lease = await must(
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${chart.names.lease}`,
    );
    assert.ok(!lease.spec.holderIdentity, `lease still held by ${lease.spec.holderIdentity}`);
  });
});
