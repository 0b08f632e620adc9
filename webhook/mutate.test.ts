import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { silentLogger } from '../lib/log.ts';
import type { PolicySpec } from '../lib/policy/index.ts';
import { apply, type JsonPatchOp } from './jsonpatch.ts';
import { staticNamespaceLookup, staticPolicyLookup } from './lookup.ts';
import { admitPod, type MutateDeps } from './mutate.ts';
import { parseAdmissionReview } from './review.ts';
import { defaultAdmissionSettings } from './settings.ts';
import { AdmissionReviewBuilder, namespace, PodBuilder, pod, policy } from './testing/fixtures.ts';
import type { PolicyLookup } from './types.ts';

const llm = policy('llm', 'agents', {
  selector: { matchLabels: { app: 'agent' } },
  sidecar: { nativeSidecar: 'auto', tlsKeyLog: true } as PolicySpec['sidecar'],
  export: {
    enabled: true,
    backendUrl: 'https://collector.example.com',
    batchSize: 100,
    flushIntervalSeconds: 5,
  } as PolicySpec['export'],
});

function deps(over: Partial<MutateDeps> = {}): MutateDeps {
  return {
    settings: defaultAdmissionSettings({ serverVersion: { major: 1, minor: 35 } }),
    policies: staticPolicyLookup([llm]),
    namespaces: staticNamespaceLookup([
      namespace('agents'),
      namespace('team', { 'observer.axom.ai/inject': 'true' }),
    ]),
    log: silentLogger,
    ...over,
  };
}

function admit(p: V1Pod, d = deps(), b = AdmissionReviewBuilder.forPod(p)) {
  const req = parseAdmissionReview(b.build(), 'Pod');
  const out = admitPod(req, d);
  const ops: JsonPatchOp[] = out.response.patch
    ? JSON.parse(Buffer.from(out.response.patch, 'base64').toString())
    : [];
  return { ...out, ops, mutated: apply(p, ops), uid: b.uidValue };
}

test('a Deployment pod is injected; the patch applies; the response carries the uid', () => {
  const p = PodBuilder.deploymentPod().build();
  const r = admit(p);
  assert.equal(r.result, 'injected');
  assert.equal(r.response.uid, r.uid);
  assert.equal(r.response.allowed, true);
  assert.equal(r.response.patchType, 'JSONPatch');
  const sidecar = r.mutated.spec?.initContainers?.[0];
  assert.equal(sidecar?.name, 'axom-observer');
  assert.equal(sidecar?.restartPolicy, 'Always');
  assert.equal(r.mutated.metadata?.annotations?.['observer.axom.ai/status'], 'injected');
  assert.equal(r.mutated.metadata?.annotations?.['observer.axom.ai/policy'], 'llm');
  const app = r.mutated.spec?.containers[0];
  assert.equal(
    app?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value,
    '--max-old-space-size=512 --tls-keylog=/var/run/axom/tls/keylog',
  );
  // The annotation keys are escaped in the patch paths.
  assert.ok(r.ops.some((o) => o.path === '/metadata/annotations/observer.axom.ai~1status'));
});

test('a second admission of the injected pod changes nothing (reinvocation)', () => {
  const first = admit(PodBuilder.deploymentPod().build());
  const second = admit(first.mutated);
  assert.equal(second.result, 'already_injected');
  assert.equal(second.response.patch, undefined);
});

test('a copied injected pod without our status annotation is marked, not injected twice', () => {
  const p = pod().inject().container({ name: 'axom-observer', image: 'x' }).build();
  const r = admit(p);
  assert.equal(r.result, 'already_injected');
  assert.equal(r.mutated.metadata?.annotations?.['observer.axom.ai/status'], 'skipped: already injected');
  assert.equal(r.mutated.spec?.containers.length, 2);
});

test('an unannotated pod is left exactly as it came', () => {
  const r = admit(pod().build());
  assert.equal(r.result, 'not_requested');
  assert.equal(r.response.patch, undefined);
  assert.equal(r.response.allowed, true);
});

test('skips record their reason in the status annotation only', () => {
  const cases: Array<[V1Pod, string, string]> = [
    [pod().inject('false').build(), 'opted_out', 'skipped: opted out'],
    [
      pod().inject().hostNetwork().build(),
      'host_network',
      'skipped: hostNetwork pod (capture would watch the node)',
    ],
    [pod('p', 'kube-system').inject().build(), 'excluded_namespace', 'skipped: namespace excluded'],
  ];
  for (const [p, result, status] of cases) {
    const r = admit(p);
    assert.equal(r.result, result);
    assert.deepEqual(r.ops, [
      { op: 'add', path: '/metadata/annotations/observer.axom.ai~1status', value: status },
    ]);
  }
});

test('namespace opt-in injects pods without their own annotation', () => {
  const r = admit(pod('p', 'team').build());
  assert.equal(r.result, 'injected');
  assert.equal(
    r.mutated.metadata?.annotations?.['observer.axom.ai/status'],
    'injected: built-in defaults (no matching ObservationPolicy)',
  );
  // Defaults: nothing mounted, no rules path, no export.
  const c = r.mutated.spec?.initContainers?.[0];
  assert.equal(c?.volumeMounts, undefined);
  assert.equal(
    c?.env?.some((e) => e.name === 'AXOM_RULES'),
    false,
  );
});

test('regular mode on old servers; per-pod annotation forces native', () => {
  const old = deps({ settings: defaultAdmissionSettings({ serverVersion: { major: 1, minor: 28 } }) });
  const r = admit(pod().inject().build(), old);
  assert.equal(r.mutated.spec?.containers.at(-1)?.name, 'axom-observer');
  assert.equal(r.mutated.spec?.initContainers, undefined);
  const forced = admit(pod().inject().annotate('observer.axom.ai/native-sidecar', 'always').build(), old);
  assert.equal(forced.mutated.spec?.initContainers?.[0]?.name, 'axom-observer');
});

test('dryRun requests are mutated the same way', () => {
  const p = PodBuilder.deploymentPod().build();
  const b = AdmissionReviewBuilder.forPod(p).dryRun();
  const dry = admit(p, deps(), b);
  const wet = admit(p);
  assert.equal(dry.result, 'injected');
  assert.deepEqual(dry.ops, wet.ops);
});

test('non-CREATE operations pass untouched', () => {
  const p = pod().inject().build();
  const r = admit(p, deps(), AdmissionReviewBuilder.forPod(p).operation('UPDATE'));
  assert.equal(r.result, 'ignored_operation');
  assert.equal(r.response.patch, undefined);
});

test('an internal error admits the pod unchanged with a warning', () => {
  const broken: PolicyLookup = {
    get: () => {
      throw new Error('boom');
    },
    list: () => {
      throw new Error('boom');
    },
  };
  const r = admit(pod().inject().build(), deps({ policies: broken }));
  assert.equal(r.result, 'error');
  assert.equal(r.response.allowed, true);
  assert.equal(r.response.patch, undefined);
  assert.match(r.response.warnings?.[0] ?? '', /injection failed with an internal error/);
});

test('the namespace comes from the request when the pod has none (generateName pods)', () => {
  const p = PodBuilder.deploymentPod().build();
  delete p.metadata?.namespace;
  const r = admit(p, deps(), AdmissionReviewBuilder.forPod(p).namespace('agents'));
  assert.equal(r.mutated.metadata?.annotations?.['observer.axom.ai/policy'], 'llm');
});

test('pods without usable containers are bad requests', () => {
  const bad = [
    { metadata: {} },
    { spec: {} },
    { spec: { containers: [{ image: 'x' }] } },
    { spec: { containers: [], initContainers: {} } },
  ];
  for (const object of bad) {
    const req = parseAdmissionReview(new AdmissionReviewBuilder(object).build(), 'Pod');
    assert.throws(() => admitPod(req, deps()), { code: 'AXOM_ADMISSION_BAD_REQUEST' });
  }
});

test('fuzz: any JSON body gives a 400-class error or an answer with the uid, never a crash', async () => {
  const fc = (await import('fast-check')).default;
  const base = PodBuilder.deploymentPod().build();
  const anything = fc.anything({ maxDepth: 3, withNullPrototype: false });
  const podLike = fc.record(
    {
      metadata: fc.oneof(
        anything,
        fc.record({ annotations: fc.dictionary(fc.string(), fc.oneof(fc.string(), anything)) }),
      ),
      spec: fc.oneof(
        anything,
        fc.record({
          containers: fc.oneof(
            anything,
            fc.array(fc.oneof(anything, fc.record({ name: fc.string(), env: anything }))),
          ),
          initContainers: anything,
          hostNetwork: anything,
          volumes: anything,
        }),
      ),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.oneof(podLike, fc.constant(base)), fc.boolean(), (object, inNamespace) => {
      const b = new AdmissionReviewBuilder({
        ...object,
        metadata: { ...(object.metadata as object), annotations: { 'observer.axom.ai/inject': 'true' } },
      });
      if (inNamespace) b.namespace('team');
      let req: ReturnType<typeof parseAdmissionReview>;
      try {
        req = parseAdmissionReview(JSON.parse(JSON.stringify(b.build())), 'Pod');
        const out = admitPod(req, deps());
        assert.equal(out.response.uid, b.uidValue);
        assert.equal(out.response.allowed, true);
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'AXOM_ADMISSION_BAD_REQUEST', String(err));
      }
    }),
    { numRuns: 300 },
  );
});
