import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObservationPolicy } from '../../lib/policy/types.ts';
import type { ConfigMap, KubeObject, Pod } from '../kube/types.ts';
import { mergeConditions, nowRfc3339 } from './conditions.ts';
import { apiKeySourceOf, centralKeyRefusal } from './reconcile.ts';
import { applyDesired, desiredConfigMap, desiredSecret, diffRendered, ownerKey } from './render.ts';
import { uninjectedReason } from './uninjected.ts';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:05:00Z';

describe('mergeConditions', () => {
  const ready = { type: 'Ready', status: 'True' as const, reason: 'Reconciled', message: 'ok' };

  it('stamps new conditions with now and observedGeneration', () => {
    assert.deepEqual(mergeConditions(undefined, [ready], 3, T0), [
      { ...ready, lastTransitionTime: T0, observedGeneration: 3 },
    ]);
  });

  it('keeps lastTransitionTime while the status stays, even when reason and message change', () => {
    const first = mergeConditions(undefined, [ready], 1, T0);
    const second = mergeConditions(first, [{ ...ready, reason: 'Other', message: 'still fine' }], 2, T1);
    assert.equal(second[0]?.lastTransitionTime, T0);
    assert.equal(second[0]?.reason, 'Other');
    assert.equal(second[0]?.observedGeneration, 2);
  });

  it('moves lastTransitionTime when the status changes', () => {
    const first = mergeConditions(undefined, [ready], 1, T0);
    const second = mergeConditions(first, [{ ...ready, status: 'False', reason: 'InvalidSpec' }], 1, T1);
    assert.equal(second[0]?.lastTransitionTime, T1);
  });

  it('keeps conditions of other types after the desired ones', () => {
    const other = {
      type: 'Custom',
      status: 'True' as const,
      reason: 'X',
      message: '',
      lastTransitionTime: T0,
    };
    const merged = mergeConditions([other], [ready], 1, T1);
    assert.deepEqual(
      merged.map((c) => c.type),
      ['Ready', 'Custom'],
    );
  });

  it('formats times at second precision, as the API server stores them', () => {
    assert.equal(nowRfc3339(new Date('2026-03-04T05:06:07.891Z')), '2026-03-04T05:06:07Z');
  });
});

const policy = (spec: unknown = {}): ObservationPolicy =>
  ({
    apiVersion: 'observer.axom.ai/v1alpha1',
    kind: 'ObservationPolicy',
    metadata: { name: 'p', namespace: 'ns', uid: 'uid-1', generation: 1 },
    spec,
  }) as ObservationPolicy;

describe('render diffing', () => {
  const desired = desiredConfigMap(policy(), 'version: 1\n', 'abc');

  it('finds nothing to write when the live object matches, whatever the server added', () => {
    const live: ConfigMap = structuredClone(desired);
    live.metadata.resourceVersion = '7';
    live.metadata.uid = 'cm-uid';
    live.metadata.labels = { ...live.metadata.labels, 'team.example/extra': 'x' };
    live.metadata.annotations = { ...live.metadata.annotations, 'kubectl.kubernetes.io/last-applied': '{}' };
    assert.deepEqual(diffRendered(live, desired), []);
  });

  it('reports each kind of drift', () => {
    const live: ConfigMap = structuredClone(desired);
    live.data = { 'rules.yaml': 'edited' };
    delete live.metadata.labels;
    live.metadata.annotations = {};
    live.metadata.ownerReferences = [];
    assert.deepEqual(diffRendered(live, desired), ['data', 'labels', 'annotations', 'ownerReferences']);
    const extraKey: ConfigMap = structuredClone(desired);
    extraKey.data = { ...extraKey.data, other: 'x' };
    assert.deepEqual(diffRendered(extraKey, desired), ['data']);
  });

  it('applyDesired keeps the resourceVersion and foreign metadata, replaces a foreign controller', () => {
    const live: ConfigMap = structuredClone(desired);
    live.metadata.resourceVersion = '9';
    live.metadata.labels = { mine: 'yes' };
    live.metadata.ownerReferences = [
      { apiVersion: 'v1', kind: 'Other', name: 'o', uid: 'other', controller: true },
      { apiVersion: 'v1', kind: 'Note', name: 'n', uid: 'note' },
    ];
    live.data = { 'rules.yaml': 'old' };
    const next = applyDesired(live, desired);
    assert.equal(next.metadata.resourceVersion, '9');
    assert.equal(next.metadata.labels?.mine, 'yes');
    assert.deepEqual(
      next.metadata.ownerReferences?.map((o) => o.uid),
      ['note', 'uid-1'],
    );
    assert.deepEqual(next.data, desired.data);
    assert.deepEqual(diffRendered(next, desired), []);
  });

  it('secrets carry the key only in data, and name where it came from', () => {
    const s = desiredSecret(policy(), Buffer.from('sk-1').toString('base64'), 'ns/src#token');
    assert.equal(s.metadata.name, 'p-axom-api-key');
    assert.equal(s.type, 'Opaque');
    assert.ok(!JSON.stringify(s.metadata).includes(Buffer.from('sk-1').toString('base64')));
    assert.equal(ownerKey(s), 'ns/p');
  });
});

describe('apiKeySourceOf', () => {
  const central = { namespace: 'axom-system', name: 'central', key: 'api-key', allowedBackends: [] };
  const centralSource = { namespace: 'axom-system', name: 'central', key: 'api-key' };
  it('resolves Secret, Central and None', () => {
    assert.deepEqual(
      apiKeySourceOf(
        policy({ export: { apiKey: { source: 'Secret', secretRef: { name: 's', key: 'k' } } } }),
        central,
      ),
      { namespace: 'ns', name: 's', key: 'k' },
    );
    assert.deepEqual(
      apiKeySourceOf(policy({ export: { apiKey: { source: 'Central' } } }), central),
      centralSource,
    );
    assert.deepEqual(apiKeySourceOf(policy({}), central), centralSource, 'Central is the default');
    assert.equal(apiKeySourceOf(policy({ export: { apiKey: { source: 'None' } } }), central), undefined);
  });
});

describe('centralKeyRefusal', () => {
  const allow = ['https://ingest.example.com/'];
  const exporting = (backendUrl?: string) =>
    policy({
      export: { enabled: true, ...(backendUrl ? { backendUrl } : {}), apiKey: { source: 'Central' } },
    });

  it('copies the central key only for an exporting policy whose backend is listed', () => {
    assert.equal(centralKeyRefusal(exporting('https://ingest.example.com/v1'), allow), undefined);
  });

  it('refuses a backend that is not listed, naming the URL and how to allow it', () => {
    for (const url of ['https://ingest.example.com.evil.io/', 'https://ingest.example.com@evil.io/']) {
      const r = centralKeyRefusal(exporting(url), allow);
      assert.equal(r?.reason, 'BackendNotAllowed');
      assert.equal(r?.needed, true);
      assert.ok(r?.message.includes(url));
      assert.match(r?.message ?? '', /--central-secret-backends/);
      assert.match(r?.message ?? '', /centralApiKey\.allowedBackends/);
    }
  });

  it('refuses every backend when the list is empty (secure default), and an unset URL', () => {
    const r = centralKeyRefusal(exporting('https://ingest.example.com/v1'), []);
    assert.equal(r?.reason, 'BackendNotAllowed');
    assert.match(r?.message ?? '', /no backend is allowed/);
    assert.equal(centralKeyRefusal(exporting(undefined), allow)?.reason, 'BackendNotAllowed');
  });

  it('copies nothing for a policy that does not export, and does not count that as a failure', () => {
    for (const spec of [{}, { export: { enabled: false, backendUrl: 'https://evil.io/' } }]) {
      const r = centralKeyRefusal(policy(spec), allow);
      assert.equal(r?.reason, 'NotRequired');
      assert.equal(r?.needed, false);
    }
  });
});

describe('uninjectedReason', () => {
  const pod = (annotations: Record<string, string>, containers = ['app']): Pod => ({
    metadata: { name: 'p', namespace: 'ns', annotations },
    spec: { containers: containers.map((name) => ({ name })) },
  });
  const ns = (inject?: string): KubeObject => ({
    metadata: { name: 'ns', annotations: inject ? { 'observer.axom.ai/inject': inject } : {} },
  });

  it('counts pods that asked (pod or namespace) and lack the sidecar', () => {
    assert.equal(uninjectedReason(pod({ 'observer.axom.ai/inject': 'true' }), ns()), 'webhook_missed');
    assert.equal(uninjectedReason(pod({}), ns('true')), 'webhook_missed');
  });
  it("lets the pod's own annotation win over the namespace's", () => {
    assert.equal(uninjectedReason(pod({ 'observer.axom.ai/inject': 'false' }), ns('true')), undefined);
  });
  it('ignores pods that have the sidecar or did not ask', () => {
    assert.equal(
      uninjectedReason(pod({ 'observer.axom.ai/inject': 'true' }, ['app', 'axom-observer']), ns()),
      undefined,
    );
    assert.equal(uninjectedReason(pod({}), ns()), undefined);
  });
  it('tells webhook skips apart from pods the webhook never saw', () => {
    const skipped = pod({
      'observer.axom.ai/inject': 'true',
      'observer.axom.ai/status': 'skipped: host_network',
    });
    assert.equal(uninjectedReason(skipped, ns()), 'skipped');
  });
});
