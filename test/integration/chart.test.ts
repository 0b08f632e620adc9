/**
 * charts/axom-observer: helm lint and template with default and non-default values, what
 * the manifests say (webhooks, Deployment, RBAC), values.schema.json refusing bad values,
 * and the rendered manifests accepted by a real kube-apiserver (server-side apply).
 * The operator running under the chart's RBAC is chart-rbac.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dump } from 'js-yaml';
import { parseFlags } from '../../lib/flags.ts';
import {
  ANNOTATION_INJECT,
  API_GROUP,
  CRD_NAME,
  OPERATOR_METRICS_PORT,
  OPERATOR_WEBHOOK_PORT,
  POLICY_PLURAL,
  WEBHOOK_MUTATE_PATH,
  WEBHOOK_VALIDATE_PATH,
} from '../../lib/names.ts';
import { DEFAULT_WEBHOOK_CONFIGURATION_NAME as WEBHOOK_CONFIGURATION } from '../../operator/certs/index.ts';
import { command as operatorCommand } from '../../operator/command.ts';
import { RESOURCES } from '../../operator/kube/types.ts';
import { DEFAULT_WEBHOOK_TLS_SECRET } from '../../operator/webhook.ts';
import { generatedFiles } from '../../scripts/generate.ts';
import { DEFAULT_SIDECAR_RESOURCES } from '../../webhook/index.ts';
import { REPO_ROOT } from '../harness/binaries.ts';
import { type ControlPlane, startControlPlane } from '../harness/controlplane.ts';
import { runKubectl } from '../harness/kube.ts';
import {
  CHART_DIR,
  find,
  helmTemplate,
  kinds,
  type Manifest,
  NAMESPACE,
  RELEASE,
  render,
  runHelm,
  withValues,
} from './chart-render.ts';

const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

/** Everything optional switched on, and most defaults changed. */
const NON_DEFAULT = {
  fullnameOverride: 'obs',
  image: {
    operator: { repository: 'registry.example.com/axom/operator', tag: '1.2.3', pullPolicy: 'Always' },
    sidecar: {
      repository: 'registry.example.com/axom/sidecar',
      digest: `sha256:${'a'.repeat(64)}`,
      pullPolicy: 'Always',
    },
  },
  imagePullSecrets: [{ name: 'regcred' }],
  operator: {
    replicas: 3,
    logLevel: 'debug',
    podAntiAffinity: 'hard',
    hostNetwork: true,
    extraArgs: ['--workers=8'],
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ops', effect: 'NoSchedule' }],
    priorityClassName: 'system-cluster-critical',
  },
  podDisruptionBudget: { minAvailable: null, maxUnavailable: 1 },
  serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/axom' } },
  webhook: {
    mutating: { failurePolicy: 'Fail', timeoutSeconds: 3, reinvocationPolicy: 'Never' },
    validating: { failurePolicy: 'Fail' },
    excludedNamespaces: ['kube-system', 'kube-public', 'kube-node-lease', 'istio-system'],
    namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] },
    objectSelector: { matchLabels: { 'axom.ai/observe': 'yes' } },
  },
  certificates: { mode: 'certManager' },
  sidecar: {
    nativeSidecar: 'never',
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '', memory: '1Gi' } },
    logLevel: 'debug',
  },
  apiKey: { value: 'sk-test-not-a-real-key', key: 'token' },
  centralApiKey: { allowedBackends: ['https://ingest.example.com/', 'https://eu.example.com:8443/v1'] },
  metrics: {
    serviceMonitor: { enabled: true, labels: { release: 'prom' } },
    podMonitor: { enabled: true },
    prometheusRule: { enabled: true, tokenBurn: { enabled: false } },
  },
  grafanaDashboard: { enabled: true },
  commonLabels: { team: 'platform' },
};

/** Kinds whose CRDs (Prometheus Operator, cert-manager) a bare API server does not have. */
const THIRD_PARTY = new Set(['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'Certificate', 'Issuer']);

function containerArgs(docs: Manifest[]): string[] {
  const dep = find(docs, 'Deployment');
  return dep.spec.template.spec.containers[0].args as string[];
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const hit = args.find((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
  return hit?.includes('=') ? hit.slice(hit.indexOf('=') + 1) : hit;
}

describe('helm chart: lint and render', () => {
  it('passes helm lint --strict with default and non-default values', async () => {
    for (const values of [undefined, NON_DEFAULT]) {
      const res = await withValues(['lint', '--strict', CHART_DIR, '--namespace', NAMESPACE], values);
      assert.equal(
        res.code,
        0,
        `helm lint (${values ? 'non-default' : 'default'}): ${res.stdout}${res.stderr}`,
      );
      assert.match(res.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders the default install: operator, RBAC, Service, PDB and both webhooks, nothing optional', async () => {
    const docs = await render();
    assert.deepEqual(kinds(docs), [
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'MutatingWebhookConfiguration',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Service',
      'Service',
      'ServiceAccount',
      'ValidatingWebhookConfiguration',
    ]);
    for (const d of docs) {
      const clusterScoped = /^(ClusterRole|ClusterRoleBinding|.*WebhookConfiguration)$/.test(d.kind);
      assert.equal(d.metadata.namespace, clusterScoped ? undefined : NAMESPACE, `${d.kind} namespace`);
      assert.equal(d.metadata.labels['app.kubernetes.io/instance'], RELEASE);
    }
  });

  it('ships the CRD identical to crds/ and to what lib/policy/schema.ts generates', async () => {
    const top = readFileSync(join(REPO_ROOT, 'crds/observationpolicy.yaml'), 'utf8');
    const inChart = readFileSync(join(CHART_DIR, 'crds/observationpolicy.yaml'), 'utf8');
    assert.equal(inChart, top);
    assert.equal(inChart, generatedFiles().get('charts/axom-observer/crds/observationpolicy.yaml'));
    const docs = await render(undefined, { includeCrds: true });
    assert.equal(find(docs, 'CustomResourceDefinition').metadata.name, CRD_NAME);
  });

  it('mutating webhook: Ignore, sideEffects None, timeout, IfNeeded, pods CREATE through the Service', async () => {
    const docs = await render();
    const cfg = find(docs, 'MutatingWebhookConfiguration', WEBHOOK_CONFIGURATION);
    assert.equal(cfg.webhooks.length, 1);
    const w = cfg.webhooks[0];
    assert.equal(w.failurePolicy, 'Ignore');
    assert.equal(w.sideEffects, 'None');
    assert.equal(w.timeoutSeconds, 5);
    assert.equal(w.reinvocationPolicy, 'IfNeeded');
    assert.deepEqual(w.admissionReviewVersions, ['v1']);
    assert.deepEqual(w.rules, [
      {
        operations: ['CREATE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['pods'],
        scope: 'Namespaced',
      },
    ]);
    assert.deepEqual(w.clientConfig.service, {
      name: `${RELEASE}-webhook`,
      namespace: NAMESPACE,
      path: WEBHOOK_MUTATE_PATH,
      port: 443,
    });
    // Self-provisioned certificates: the operator owns caBundle, so the chart never sets it.
    assert.equal(w.clientConfig.caBundle, undefined);
    assert.equal(w.objectSelector, undefined);
    const svc = find(docs, 'Service', `${RELEASE}-webhook`);
    assert.deepEqual(svc.spec.ports, [
      { name: 'webhook', port: 443, targetPort: 'webhook', protocol: 'TCP' },
    ]);
  });

  it('excludes kube-system, kube-public, kube-node-lease and its own namespace, whatever that is', async () => {
    for (const ns of [NAMESPACE, 'observability', 'kube-system']) {
      const docs = await render(undefined, { namespace: ns });
      const w = find(docs, 'MutatingWebhookConfiguration').webhooks[0];
      const [expr, ...rest] = w.namespaceSelector.matchExpressions;
      assert.deepEqual(rest, []);
      assert.equal(expr.key, 'kubernetes.io/metadata.name');
      assert.equal(expr.operator, 'NotIn');
      assert.deepEqual(
        [...expr.values].sort(),
        [...new Set([...SYSTEM_NAMESPACES, ns])].sort(),
        `release in ${ns}`,
      );
      // The operator is told the same list, so its uninjected-pod report agrees.
      const listed = flagValue(containerArgs(docs), 'excluded-namespaces')?.split(',');
      assert.deepEqual(listed, SYSTEM_NAMESPACES);
    }
  });

  it('validating webhook: observationpolicies CREATE and UPDATE on /validate-observationpolicy', async () => {
    const docs = await render();
    const w = find(docs, 'ValidatingWebhookConfiguration', WEBHOOK_CONFIGURATION).webhooks[0];
    assert.deepEqual(w.rules, [
      {
        operations: ['CREATE', 'UPDATE'],
        apiGroups: [API_GROUP],
        apiVersions: ['v1alpha1'],
        resources: [POLICY_PLURAL],
        scope: 'Namespaced',
      },
    ]);
    assert.equal(w.clientConfig.service.path, WEBHOOK_VALIDATE_PATH);
    assert.equal(w.sideEffects, 'None');
    assert.equal(w.failurePolicy, 'Ignore');
    const off = await render({ webhook: { validating: { enabled: false } } });
    assert.ok(!kinds(off).includes('ValidatingWebhookConfiguration'));
    // The operator is told there is none, and may not touch any.
    assert.equal(flagValue(containerArgs(off), 'validating-webhook-name'), '');
    assert.equal(
      parseFlags(operatorCommand.flags, containerArgs(off).slice(1), {}).values['validating-webhook-name'],
      '',
    );
    const offRules = find(off, 'ClusterRole').rules as Manifest[];
    assert.ok(!offRules.some((r) => r.resources.includes('validatingwebhookconfigurations')));
  });

  it('Deployment: 2 replicas with leader election, probes, resources, non-root read-only, anti-affinity', async () => {
    const docs = await render();
    const dep = find(docs, 'Deployment', RELEASE);
    assert.equal(dep.spec.replicas, 2);
    assert.equal(dep.spec.strategy.rollingUpdate.maxUnavailable, 0);
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(c.image, `ghcr.io/axom-ai/axom-observer-operator:${chartAppVersion()}`);
    assert.equal(c.args[0], 'operator');
    assert.equal(flagValue(c.args, 'leader-elect'), '--leader-elect');
    assert.deepEqual(
      c.ports.map((p: Manifest) => [p.name, p.containerPort]),
      [
        ['webhook', OPERATOR_WEBHOOK_PORT],
        ['metrics', OPERATOR_METRICS_PORT],
      ],
    );
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'metrics' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'metrics' });
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(pod.serviceAccountName, RELEASE);
    assert.equal(dep.spec.template.metadata.annotations[ANNOTATION_INJECT], 'false');
    const anti = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0];
    assert.equal(anti.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(anti.podAffinityTerm.labelSelector.matchLabels, dep.spec.selector.matchLabels);
    const pdb = find(docs, 'PodDisruptionBudget', RELEASE);
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, dep.spec.selector.matchLabels);
  });

  it('passes only flags that `axom-observer operator` accepts, with the values the chart means', async () => {
    for (const values of [undefined, NON_DEFAULT]) {
      const docs = await render(values);
      const [sub, ...args] = containerArgs(docs);
      assert.equal(sub, 'operator');
      const env = { POD_NAMESPACE: NAMESPACE };
      const parsed = parseFlags(operatorCommand.flags, args, env).values;
      assert.equal(parsed['operator-namespace'], NAMESPACE);
      assert.equal(parsed['webhook-port'], OPERATOR_WEBHOOK_PORT);
      assert.equal(parsed['metrics-address'], `:${OPERATOR_METRICS_PORT}`);
      const svc = docs.find((d) => d.kind === 'Service' && d.spec.ports[0].name === 'webhook');
      assert.equal(parsed['webhook-service'], svc.metadata.name);
      assert.equal(parsed['leader-elect'], true);
      assert.equal(parsed['lease-duration'], 15_000);
      // Release-derived names: the configurations, the Lease and the certificate Secret.
      assert.equal(parsed['mutating-webhook-name'], find(docs, 'MutatingWebhookConfiguration').metadata.name);
      assert.equal(
        parsed['validating-webhook-name'],
        find(docs, 'ValidatingWebhookConfiguration').metadata.name,
      );
      const fullname = find(docs, 'Deployment').metadata.name;
      assert.equal(parsed['lease-name'], `${fullname}-operator`);
      // The operator writes the certificate Secret only in self-signed mode; cert-manager's is mounted.
      if (parsed['cert-mode'] === 'self-signed')
        assert.equal(parsed['cert-secret-name'], `${fullname}-webhook-tls`);
      else assert.equal(flagValue(args, 'cert-secret-name'), undefined);
      assert.deepEqual(
        parsed['excluded-namespaces'],
        (values ?? { webhook: {} }).webhook.excludedNamespaces ?? SYSTEM_NAMESPACES,
      );
    }
    const nd = parseFlags(
      operatorCommand.flags,
      containerArgs(await render(NON_DEFAULT)).slice(1),
      {},
    ).values;
    assert.equal(nd['cert-mode'], 'cert-manager');
    assert.equal(nd['sidecar-image'], `registry.example.com/axom/sidecar@sha256:${'a'.repeat(64)}`);
    assert.equal(nd['sidecar-image-pull-policy'], 'Always');
    assert.equal(nd['native-sidecar'], 'never');
    assert.equal(nd['sidecar-cpu-request'], '100m');
    assert.equal(nd['sidecar-memory-request'], '128Mi');
    assert.equal(nd['sidecar-cpu-limit'], '');
    assert.equal(nd['sidecar-memory-limit'], '1Gi');
    assert.equal(nd['sidecar-log-level'], 'debug');
    assert.equal(nd['mutating-webhook-name'], 'obs');
    assert.equal(nd['validating-webhook-name'], 'obs');
    // The default install gives the sidecar what the webhook would use without any flag.
    const dd = parseFlags(operatorCommand.flags, containerArgs(await render()).slice(1), {}).values;
    assert.deepEqual(
      {
        requests: { cpu: dd['sidecar-cpu-request'], memory: dd['sidecar-memory-request'] },
        limits: { cpu: dd['sidecar-cpu-limit'], memory: dd['sidecar-memory-limit'] },
      },
      DEFAULT_SIDECAR_RESOURCES,
    );
    assert.equal(dd['sidecar-log-level'], undefined);
    assert.equal(dd['cert-secret-name'], DEFAULT_WEBHOOK_TLS_SECRET);
    assert.equal(dd['mutating-webhook-name'], WEBHOOK_CONFIGURATION);
    assert.equal(nd['central-secret-name'], 'obs-api-key');
    assert.equal(nd['central-secret-key'], 'token');
    // The central key goes only to listed backends; by default to none.
    assert.deepEqual(nd['central-secret-backends'], NON_DEFAULT.centralApiKey.allowedBackends);
    assert.deepEqual(dd['central-secret-backends'], []);
    assert.equal(nd.workers, 8);
    assert.equal(nd['log-level'], 'debug');
  });

  it('two releases share a cluster: no cluster-scoped name in common, each operator told its own', async () => {
    const a = await render(undefined, { release: 'team-a', namespace: 'obs-a' });
    const b = await render(undefined, { release: 'team-b', namespace: 'obs-b' });
    const clusterScoped = (docs: Manifest[]) =>
      docs
        .filter((d) => d.metadata.namespace === undefined)
        .map((d) => `${d.kind}/${d.metadata.name}`)
        .sort();
    const shared = clusterScoped(a).filter((n) => clusterScoped(b).includes(n));
    assert.deepEqual(shared, []);
    for (const [docs, fullname] of [
      [a, 'team-a-axom-observer'],
      [b, 'team-b-axom-observer'],
    ] as const) {
      const parsed = parseFlags(operatorCommand.flags, containerArgs(docs).slice(1), {}).values;
      assert.equal(parsed['mutating-webhook-name'], fullname);
      assert.equal(parsed['validating-webhook-name'], fullname);
      assert.equal(parsed['cert-secret-name'], `${fullname}-webhook-tls`);
      assert.equal(parsed['lease-name'], `${fullname}-operator`);
      // The ClusterRole reaches this release's webhook configurations only.
      const hooks = (find(docs, 'ClusterRole').rules as Manifest[]).filter((r) =>
        r.apiGroups.includes('admissionregistration.k8s.io'),
      );
      assert.deepEqual(
        hooks.map((r) => r.resourceNames),
        [[fullname], [fullname]],
      );
    }
  });

  it('RBAC: named verbs only, bound to the ServiceAccount, covering every resource the operator uses', async () => {
    const docs = await render();
    const cr = find(docs, 'ClusterRole', RELEASE);
    const role = find(docs, 'Role', RELEASE);
    for (const rule of [...cr.rules, ...role.rules]) {
      for (const field of ['apiGroups', 'resources', 'verbs'])
        assert.ok(!rule[field].includes('*'), `wildcard in ${field}`);
    }
    const allows = (rules: Manifest[], group: string, resource: string, verb: string): boolean =>
      rules.some(
        (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    for (const rt of Object.values(RESOURCES)) {
      const rules = rt.plural === 'leases' ? role.rules : cr.rules;
      const verbs =
        rt.plural === 'events'
          ? ['create']
          : rt.plural === 'leases'
            ? ['get', 'create', 'update']
            : ['list', 'watch'];
      for (const verb of verbs) assert.ok(allows(rules, rt.group, rt.plural, verb), `${verb} ${rt.plural}`);
    }
    assert.ok(allows(cr.rules, API_GROUP, `${POLICY_PLURAL}/status`, 'patch'));
    assert.ok(allows(role.rules, 'coordination.k8s.io', 'leases', 'update'));
    // Reading and renewing only this release's Lease; create cannot be limited by name.
    assert.deepEqual(
      role.rules.map((r: Manifest) => [r.resources, r.resourceNames, r.verbs]),
      [
        [['leases'], [`${RELEASE}-operator`], ['get', 'update']],
        [['leases'], undefined, ['create']],
      ],
    );
    // Webhook configurations: only the chart's own two, by name.
    const hooks = cr.rules.filter((r: Manifest) => r.apiGroups.includes('admissionregistration.k8s.io'));
    assert.deepEqual(
      hooks.map((r: Manifest) => [r.resources, r.resourceNames, r.verbs]),
      [
        [['mutatingwebhookconfigurations'], [WEBHOOK_CONFIGURATION], ['get', 'update']],
        [['validatingwebhookconfigurations'], [WEBHOOK_CONFIGURATION], ['get', 'update']],
      ],
    );
    for (const binding of [find(docs, 'ClusterRoleBinding', RELEASE), find(docs, 'RoleBinding', RELEASE)]) {
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: RELEASE, namespace: NAMESPACE }]);
    }
    const noRbac = await render({ rbac: { create: false } });
    assert.ok(!kinds(noRbac).some((k) => /Role/.test(k)));
  });

  it('non-default values: cert-manager, monitoring, dashboard, API-key Secret, selectors, images', async () => {
    const docs = await render(NON_DEFAULT);
    const dep = find(docs, 'Deployment', 'obs');
    assert.equal(dep.spec.replicas, 3);
    assert.equal(dep.spec.template.spec.containers[0].image, 'registry.example.com/axom/operator:1.2.3');
    assert.deepEqual(dep.spec.template.spec.imagePullSecrets, [{ name: 'regcred' }]);
    assert.ok(dep.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution);
    assert.equal(dep.spec.template.spec.hostNetwork, true);
    assert.equal(dep.spec.template.spec.dnsPolicy, 'ClusterFirstWithHostNet');
    assert.equal(dep.metadata.labels.team, 'platform');
    assert.equal(find(docs, 'PodDisruptionBudget').spec.maxUnavailable, 1);
    assert.equal(find(docs, 'PodDisruptionBudget').spec.minAvailable, undefined);
    assert.equal(
      find(docs, 'ServiceAccount').metadata.annotations['eks.amazonaws.com/role-arn'],
      'arn:aws:iam::123456789012:role/axom',
    );

    // cert-manager: a self-signed CA chain, the serving Certificate mounted into the pod, caBundle injected.
    assert.deepEqual(
      docs.filter((d) => d.kind === 'Issuer').map((d) => d.metadata.name),
      ['obs-selfsigned', 'obs-ca'],
    );
    const cert = find(docs, 'Certificate', 'obs-webhook');
    assert.deepEqual(cert.spec.dnsNames, [
      `obs-webhook.${NAMESPACE}.svc`,
      `obs-webhook.${NAMESPACE}.svc.cluster.local`,
    ]);
    const vol = dep.spec.template.spec.volumes.find((v: Manifest) => v.name === 'webhook-certs');
    assert.equal(vol.secret.secretName, cert.spec.secretName);
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      const cfg = find(docs, kind);
      assert.equal(cfg.metadata.annotations['cert-manager.io/inject-ca-from'], `${NAMESPACE}/obs-webhook`);
    }
    const withIssuer = await render({
      certificates: {
        mode: 'certManager',
        certManager: { issuerRef: { name: 'corp', kind: 'ClusterIssuer' } },
      },
    });
    assert.ok(!kinds(withIssuer).includes('Issuer'));
    assert.deepEqual(find(withIssuer, 'Certificate').spec.issuerRef, { name: 'corp', kind: 'ClusterIssuer' });

    const w = find(docs, 'MutatingWebhookConfiguration').webhooks[0];
    assert.equal(w.failurePolicy, 'Fail');
    assert.equal(w.timeoutSeconds, 3);
    assert.equal(w.reinvocationPolicy, 'Never');
    assert.deepEqual(w.objectSelector, { matchLabels: { 'axom.ai/observe': 'yes' } });
    assert.deepEqual(w.namespaceSelector.matchExpressions[1], { key: 'team', operator: 'Exists' });
    assert.ok(w.namespaceSelector.matchExpressions[0].values.includes('istio-system'));

    // The central API key: a Secret from apiKey.value, base64 of exactly that value.
    const secret = find(docs, 'Secret', 'obs-api-key');
    assert.equal(Buffer.from(secret.data.token, 'base64').toString(), 'sk-test-not-a-real-key');
    const existing = await render({ apiKey: { existingSecret: 'my-key', value: 'ignored' } });
    assert.ok(!kinds(existing).includes('Secret'));
    assert.equal(flagValue(containerArgs(existing), 'central-secret-name'), 'my-key');

    // Monitoring.
    const sm = find(docs, 'ServiceMonitor');
    assert.equal(sm.metadata.labels.release, 'prom');
    assert.equal(sm.spec.endpoints[0].port, 'metrics');
    const metricsSvc = docs.find((d) => d.kind === 'Service' && d.spec.ports[0].name === 'metrics');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels))
      assert.equal(metricsSvc.metadata.labels[k], v);
    assert.equal(find(docs, 'PodMonitor').spec.podMetricsEndpoints[0].port, 'axom-metrics');
    const alerts = find(docs, 'PrometheusRule')
      .spec.groups.flatMap((g: Manifest) => g.rules)
      .map((r: Manifest) => r.alert);
    assert.deepEqual(alerts.sort(), [
      'AxomExporterDroppingSignals',
      'AxomLLMErrorRateHigh',
      'AxomOperatorDown',
      'AxomPodsNotInjected',
      'AxomWebhookErrors',
    ]);
    const all = await render({ metrics: { prometheusRule: { enabled: true } } });
    const allAlerts = find(all, 'PrometheusRule').spec.groups.flatMap((g: Manifest) => g.rules);
    assert.equal(allAlerts.length, 6);
    for (const r of allAlerts)
      assert.ok(r.expr && r.for && r.labels.severity && r.annotations.summary, r.alert);

    const dash = find(docs, 'ConfigMap', 'obs-dashboard');
    assert.equal(dash.metadata.labels.grafana_dashboard, '1');
    const json = JSON.parse(dash.data['axom-observer.json']);
    assert.equal(json.uid, 'axom-observer');
    const exprs = json.panels
      .flatMap((p: Manifest) => (p.targets ?? []).map((t: Manifest) => t.expr))
      .join('\n');
    for (const metric of [
      'axom_llm_tokens_total',
      'gen_ai_client_operation_duration_seconds',
      'axom_admission_requests_total',
    ]) {
      assert.ok(exprs.includes(metric), `dashboard queries ${metric}`);
    }
  });

  it('alerts and dashboard query only metrics the operator, webhook and sidecar define', async () => {
    const docs = await render({
      metrics: { prometheusRule: { enabled: true } },
      grafanaDashboard: { enabled: true },
    });
    const rules = find(docs, 'PrometheusRule').spec.groups.flatMap((g: Manifest) => g.rules);
    const dash = JSON.parse(find(docs, 'ConfigMap').data['axom-observer.json']);
    const exprs = [
      ...rules.map((r: Manifest) => r.expr as string),
      ...dash.panels.flatMap((p: Manifest) => (p.targets ?? []).map((t: Manifest) => t.expr as string)),
    ];
    const used = new Set<string>();
    for (const e of exprs) {
      for (const m of e.matchAll(/\b((?:axom|gen_ai_client)_[a-z0-9_]+)\b(?=[{[\s)]|$)/g)) {
        used.add(m[1]!.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    assert.ok(used.size >= 10, [...used].join(' '));
    const source = definedMetricSource();
    const missing = [...used].filter(
      (name) => !source.includes(`'${name}'`) && !source.includes(`\${P}${name.replace(/^axom_/, '')}\``),
    );
    assert.deepEqual(missing, [], 'metrics queried but defined nowhere');
  });

  it('keeps the API key out of everything but its Secret', async () => {
    const docs = await render(NON_DEFAULT);
    for (const d of docs) {
      if (d.kind === 'Secret') continue;
      assert.ok(!dump(d).includes('sk-test-not-a-real-key'), `${d.kind} ${d.metadata.name} holds the key`);
    }
    const res = await runHelm(['install', RELEASE, CHART_DIR, '--dry-run=client', '--namespace', NAMESPACE]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /NOTES:/);
    assert.match(res.stdout, /never injected/);
  });
});

describe('helm chart: values.schema.json refuses bad values', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['unknown top-level key', { replicaCount: 3 }, /additional properties 'replicaCount' not allowed/],
    ['misspelt nested key', { webhook: { mutating: { failurPolicy: 'Fail' } } }, /failurPolicy/],
    [
      'failurePolicy outside the enum',
      { webhook: { mutating: { failurePolicy: 'Sometimes' } } },
      /\/webhook\/mutating\/failurePolicy/,
    ],
    [
      'timeout over 30 s',
      { webhook: { mutating: { timeoutSeconds: 45 } } },
      /\/webhook\/mutating\/timeoutSeconds/,
    ],
    ['zero replicas', { operator: { replicas: 0 } }, /\/operator\/replicas/],
    [
      'two replicas without leader election',
      { operator: { leaderElection: { enabled: false } } },
      /\/operator\/leaderElection\/enabled/,
    ],
    [
      'a bad CPU quantity',
      { operator: { resources: { limits: { cpu: 'lots' } } } },
      /\/operator\/resources\/limits\/cpu/,
    ],
    ['an unknown certificate mode', { certificates: { mode: 'vault' } }, /\/certificates\/mode/],
    ['a bad lease duration', { operator: { leaderElection: { leaseDuration: 'forever' } } }, /leaseDuration/],
    [
      'an image repository with a tag in it',
      { image: { operator: { repository: 'Bad Repo' } } },
      /\/image\/operator\/repository/,
    ],
    ['a digest that is not sha256', { image: { sidecar: { digest: 'latest' } } }, /\/image\/sidecar\/digest/],
    [
      'an excluded namespace that is not a DNS label',
      { webhook: { excludedNamespaces: ['Kube_System'] } },
      /excludedNamespaces/,
    ],
    [
      'an anti-affinity mode that does not exist',
      { operator: { podAntiAffinity: 'sometimes' } },
      /podAntiAffinity/,
    ],
    ['an extra arg that is not a flag', { operator: { extraArgs: ['rm -rf /'] } }, /extraArgs/],
    [
      'an error-rate threshold over 1',
      { metrics: { prometheusRule: { llmErrorRate: { threshold: 5 } } } },
      /threshold/,
    ],
    ['a native-sidecar mode that does not exist', { sidecar: { nativeSidecar: 'yes' } }, /nativeSidecar/],
    [
      'a sidecar memory limit that is not a quantity',
      { sidecar: { resources: { limits: { memory: 'a lot' } } } },
      /\/sidecar\/resources\/limits\/memory/,
    ],
    ['an unknown sidecar resource', { sidecar: { resources: { requests: { gpu: 1 } } } }, /gpu/],
    ['a sidecar log level that does not exist', { sidecar: { logLevel: 'verbose' } }, /\/sidecar\/logLevel/],
    [
      'a central-key backend that is not an http(s) URL',
      { centralApiKey: { allowedBackends: ['ingest.example.com'] } },
      /\/centralApiKey\/allowedBackends\/0/,
    ],
    [
      'a central-key backend with user information',
      { centralApiKey: { allowedBackends: ['https://ingest.example.com@evil.io/'] } },
      /\/centralApiKey\/allowedBackends\/0/,
    ],
  ];
  for (const [what, values, message] of cases) {
    it(`refuses ${what}`, async () => {
      const res = await helmTemplate(values);
      assert.notEqual(res.code, 0, `helm template accepted ${JSON.stringify(values)}`);
      assert.match(res.stderr, /values don't meet the specifications of the schema/);
      assert.match(res.stderr, message);
    });
  }

  it('accepts the documented alternatives', async () => {
    for (const values of [
      { operator: { replicas: 1, leaderElection: { enabled: false } } },
      { podDisruptionBudget: { minAvailable: '50%' } },
      { operator: { resources: { requests: { cpu: 1, memory: '1Gi' } } } },
      { operator: { podAntiAffinity: 'none' } },
      { serviceAccount: { create: false, name: 'existing-sa' } },
      { sidecar: { resources: { requests: { cpu: 1 }, limits: { cpu: '' } }, logLevel: 'warn' } },
      { certificates: { secretName: 'my-webhook-tls' } },
    ]) {
      const res = await helmTemplate(values);
      assert.equal(res.code, 0, `${JSON.stringify(values)}: ${res.stderr}`);
    }
    const single = await render({ operator: { replicas: 1, leaderElection: { enabled: false } } });
    assert.ok(!kinds(single).includes('PodDisruptionBudget'), 'no PDB for a single replica');
    assert.equal(flagValue(containerArgs(single), 'no-leader-elect'), '--no-leader-elect');
    // Whole numbers stay whole (Helm reads them as floats: 1073741824 would print as 1.073741824e+09).
    const bytes = await render({
      sidecar: { resources: { requests: { cpu: 2 }, limits: { memory: 1073741824 } } },
    });
    assert.equal(flagValue(containerArgs(bytes), 'sidecar-cpu-request'), '2');
    assert.equal(flagValue(containerArgs(bytes), 'sidecar-memory-limit'), '1073741824');
    const ownSecret = await render({ certificates: { secretName: 'my-webhook-tls' } });
    assert.equal(flagValue(containerArgs(ownSecret), 'cert-secret-name'), 'my-webhook-tls');
  });
});

describe('helm chart: the rendered manifests against a real API server', () => {
  let cp: ControlPlane;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'axom-chart-'));
    cp = await startControlPlane();
    await cp.installCrds([join(CHART_DIR, 'crds/observationpolicy.yaml')]);
    for (const ns of [NAMESPACE, 'observability']) {
      const res = await runKubectl(cp, ['create', 'namespace', ns]);
      assert.equal(res.code, 0, res.stderr);
    }
  });
  after(async () => {
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const apply = async (docs: Manifest[], name: string, extra: string[]) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, docs.map((d) => dump(d, { noRefs: true })).join('---\n'));
    return runKubectl(cp, ['apply', '--server-side', '--field-manager=helm', ...extra, '-f', file]);
  };

  it('accepts the default and the non-default manifests (server-side apply, dry run)', async () => {
    for (const [name, values, ns] of [
      ['default', undefined, NAMESPACE],
      ['non-default', NON_DEFAULT, 'observability'],
    ] as const) {
      const docs = (await render(values, { namespace: ns })).filter((d) => !THIRD_PARTY.has(d.kind));
      const res = await apply(docs, name, ['--dry-run=server']);
      assert.equal(res.code, 0, `${name}: ${res.stderr}`);
      assert.equal(res.stdout.trim().split('\n').length, docs.length, res.stdout);
      assert.match(res.stdout, /serverside-applied \(server dry run\)/);
    }
  });

  it('creates the default install for real, and the API server keeps what the chart says', async () => {
    const docs = await render();
    const res = await apply(docs, 'real', []);
    assert.equal(res.code, 0, res.stderr);
    const live = await cp.request(
      'GET',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${WEBHOOK_CONFIGURATION}`,
    );
    assert.equal(live.status, 200);
    const w = live.body.webhooks[0];
    assert.equal(w.failurePolicy, 'Ignore');
    assert.equal(w.reinvocationPolicy, 'IfNeeded');
    assert.deepEqual(
      w.namespaceSelector.matchExpressions[0].values.sort(),
      [...SYSTEM_NAMESPACES, NAMESPACE].sort(),
    );
    const dep = await cp.request('GET', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${RELEASE}`);
    assert.equal(dep.status, 200);
    assert.equal(dep.body.spec.replicas, 2);
    // A second apply of the same manifests changes nothing (what `helm upgrade` relies on).
    const again = await apply(docs, 'real', []);
    assert.equal(again.code, 0, again.stderr);
  });

  it('installs a second release beside the first without touching it', async () => {
    const before = await cp.request(
      'GET',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${WEBHOOK_CONFIGURATION}`,
    );
    assert.equal(before.status, 200, 'the first release is installed');
    const docs = await render(undefined, { release: 'second', namespace: 'observability' });
    const res = await apply(docs, 'second', []);
    assert.equal(res.code, 0, res.stderr);
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      const list = await cp.request('GET', `/apis/admissionregistration.k8s.io/v1/${kind}`);
      assert.deepEqual(
        list.body.items.map((i: Manifest) => i.metadata.name).sort(),
        [WEBHOOK_CONFIGURATION, 'second-axom-observer'].sort(),
      );
    }
    const first = await cp.request(
      'GET',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${WEBHOOK_CONFIGURATION}`,
    );
    assert.equal(first.body.metadata.resourceVersion, before.body.metadata.resourceVersion);
  });
});

/** Metric definitions of the operator, the webhook and the sidecar (names as literals or `${P}…`). */
function definedMetricSource(): string {
  const files = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', 'operator', 'webhook', 'sidecar'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  )
    .split('\n')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const text = files.map((f) => readFileSync(join(REPO_ROOT, f), 'utf8')).join('\n');
  // `${METRIC_PREFIX}x` and `${P}x` both spell axom_x.
  return text.replaceAll(`\${METRIC_PREFIX}`, `\${P}`);
}

function chartAppVersion(): string {
  const m = /^appVersion:\s*"?([^"\n]+)"?/m.exec(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8'));
  return m?.[1] ?? '';
}
