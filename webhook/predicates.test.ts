import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOTATION_NATIVE_SIDECAR, ANNOTATION_POLICY, SIDECAR_CONTAINER_NAME } from '../lib/names.ts';
import type { PolicySpec } from '../lib/policy/index.ts';
import { staticPolicyLookup } from './lookup.ts';
import {
  decideInjection,
  hasSidecar,
  matchesSelector,
  nativeSidecarWanted,
  optIn,
  POD_SECURITY_ENFORCE_LABEL,
  selectPolicy,
  statusSkipped,
} from './predicates.ts';
import { defaultAdmissionSettings } from './settings.ts';
import { namespace, pod, policy } from './testing/fixtures.ts';

const settings = defaultAdmissionSettings({
  namespace: 'axom-system',
  excludedNamespaces: ['kube-system', 'batch'],
});

test('opt-in: pod annotation, namespace annotation, the pod wins', () => {
  const nsIn = namespace('agents', { 'observer.axom.ai/inject': 'true' });
  const nsPlain = namespace('agents');
  assert.equal(optIn(pod().build(), nsPlain), 'unset');
  assert.equal(optIn(pod().build(), undefined), 'unset');
  assert.equal(optIn(pod().inject().build(), nsPlain), 'in');
  assert.equal(optIn(pod().inject('false').build(), nsPlain), 'out');
  assert.equal(optIn(pod().build(), nsIn), 'in');
  assert.equal(optIn(pod().inject('false').build(), nsIn), 'out');
  assert.equal(
    optIn(pod().inject().build(), namespace('agents', { 'observer.axom.ai/inject': 'false' })),
    'in',
  );
  assert.equal(optIn(pod().annotate('observer.axom.ai/inject', ' TRUE ').build(), nsPlain), 'in');
  assert.equal(optIn(pod().annotate('observer.axom.ai/inject', 'yes please').build(), nsPlain), 'unset');
});

test('decideInjection: reasons in order', () => {
  const ns = namespace('agents');
  assert.deepEqual(decideInjection(pod().build(), 'agents', ns, settings), {
    inject: false,
    reason: 'not_requested',
  });
  assert.deepEqual(decideInjection(pod().inject('false').build(), 'agents', ns, settings), {
    inject: false,
    reason: 'opted_out',
  });
  assert.deepEqual(decideInjection(pod().inject().build(), 'batch', namespace('batch'), settings), {
    inject: false,
    reason: 'excluded_namespace',
  });
  // The operator's own namespace is always excluded.
  assert.deepEqual(decideInjection(pod().inject().build(), 'axom-system', undefined, settings), {
    inject: false,
    reason: 'excluded_namespace',
  });
  assert.deepEqual(decideInjection(pod().inject().hostNetwork().build(), 'agents', ns, settings), {
    inject: false,
    reason: 'host_network',
  });
  const injected = pod().inject().container({ name: SIDECAR_CONTAINER_NAME, image: 'x' }).build();
  assert.deepEqual(decideInjection(injected, 'agents', ns, settings), {
    inject: false,
    reason: 'already_injected',
  });
  const restricted = namespace('agents', {}, { [POD_SECURITY_ENFORCE_LABEL]: 'restricted' });
  assert.deepEqual(decideInjection(pod().inject().build(), 'agents', restricted, settings), {
    inject: false,
    reason: 'pod_security',
  });
  const privileged = namespace('agents', {}, { [POD_SECURITY_ENFORCE_LABEL]: 'privileged' });
  assert.deepEqual(decideInjection(pod().inject().build(), 'agents', privileged, settings), { inject: true });
  assert.deepEqual(decideInjection(pod().inject().build(), 'agents', ns, settings), { inject: true });
  // Unannotated pods in excluded namespaces are simply not requested.
  assert.deepEqual(decideInjection(pod().build(), 'kube-system', undefined, settings), {
    inject: false,
    reason: 'not_requested',
  });
});

test('hasSidecar finds our container among containers and initContainers', () => {
  assert.equal(hasSidecar(pod().build()), false);
  assert.equal(hasSidecar(pod().container({ name: SIDECAR_CONTAINER_NAME }).build()), true);
  assert.equal(
    hasSidecar(pod().initContainer({ name: SIDECAR_CONTAINER_NAME, restartPolicy: 'Always' }).build()),
    true,
  );
  assert.equal(hasSidecar({}), false);
});

test('status text for skips', () => {
  assert.equal(statusSkipped('host_network'), 'skipped: hostNetwork pod (capture would watch the node)');
  assert.equal(statusSkipped('already_injected'), 'skipped: already injected');
});

test('native sidecar: auto follows the server version; policy and pod annotation override', () => {
  const p = pod().build();
  const v = (minor: number) => defaultAdmissionSettings({ serverVersion: { major: 1, minor } });
  assert.equal(nativeSidecarWanted(p, undefined, v(28)), false);
  assert.equal(nativeSidecarWanted(p, undefined, v(29)), true);
  assert.equal(
    nativeSidecarWanted(p, undefined, defaultAdmissionSettings()),
    false,
    'unknown version: regular',
  );
  assert.equal(
    nativeSidecarWanted(p, undefined, defaultAdmissionSettings({ nativeSidecar: 'always' })),
    true,
  );
  assert.equal(nativeSidecarWanted(p, undefined, { ...v(35), nativeSidecar: 'never' }), false);
  const never = policy('p', 'agents', {
    sidecar: { nativeSidecar: 'never', tlsKeyLog: false } as PolicySpec['sidecar'],
  });
  const auto = policy('p', 'agents', {
    sidecar: { nativeSidecar: 'auto', tlsKeyLog: false } as PolicySpec['sidecar'],
  });
  assert.equal(nativeSidecarWanted(p, never, v(35)), false);
  assert.equal(nativeSidecarWanted(p, auto, v(35)), true, 'policy auto defers to the operator');
  const always = pod().annotate(ANNOTATION_NATIVE_SIDECAR, 'always').build();
  assert.equal(nativeSidecarWanted(always, never, v(28)), true, 'the pod annotation wins');
  const podNever = pod().annotate(ANNOTATION_NATIVE_SIDECAR, 'never').build();
  assert.equal(nativeSidecarWanted(podNever, undefined, v(35)), false);
  const bogus = pod().annotate(ANNOTATION_NATIVE_SIDECAR, 'sometimes').build();
  assert.equal(nativeSidecarWanted(bogus, undefined, v(35)), true, 'an unknown value is ignored');
});

test('label selectors', () => {
  const labels = { app: 'agent', tier: 'ai' };
  assert.equal(matchesSelector(undefined, labels), true);
  assert.equal(matchesSelector({}, labels), true);
  assert.equal(matchesSelector({ matchLabels: { app: 'agent' } }, labels), true);
  assert.equal(matchesSelector({ matchLabels: { app: 'other' } }, labels), false);
  assert.equal(
    matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['ai', 'ml'] }] }, labels),
    true,
  );
  assert.equal(
    matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['ai'] }] }, labels),
    false,
  );
  assert.equal(
    matchesSelector({ matchExpressions: [{ key: 'gpu', operator: 'NotIn', values: ['a'] }] }, labels),
    true,
  );
  assert.equal(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels), true);
  assert.equal(
    matchesSelector({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels),
    false,
  );
  assert.equal(
    matchesSelector({ matchExpressions: [{ key: 'gpu', operator: 'In', values: ['x'] }] }, labels),
    false,
  );
});

test('policy choice: by name, else oldest matching, with a warning when several match', () => {
  const older = policy(
    'older',
    'agents',
    { selector: { matchLabels: { app: 'agent' } } },
    '2026-01-01T00:00:00Z',
  );
  const newer = policy(
    'newer',
    'agents',
    { selector: { matchLabels: { app: 'agent' } } },
    '2026-02-01T00:00:00Z',
  );
  const named = policy('named', 'agents', { selector: { matchLabels: { only: 'by-name' } } });
  const elsewhere = policy('elsewhere', 'other', { selector: {} });
  const lookup = staticPolicyLookup([newer, older, named, elsewhere]);

  const byName = selectPolicy(pod().annotate(ANNOTATION_POLICY, 'named').build(), 'agents', lookup);
  assert.equal(byName.policy, named);
  assert.deepEqual(byName.warnings, []);

  const missing = selectPolicy(pod().annotate(ANNOTATION_POLICY, 'nope').build(), 'agents', lookup);
  assert.equal(missing.policy, undefined);
  assert.match(missing.note ?? '', /policy "nope" not found in namespace agents/);
  assert.equal(missing.warnings.length, 1);

  const several = selectPolicy(pod().build(), 'agents', lookup);
  assert.equal(several.policy, older);
  assert.match(several.warnings[0] ?? '', /several ObservationPolicies match this pod \(older, newer\)/);

  const none = selectPolicy(pod().label('app', 'web').build(), 'agents', lookup);
  assert.equal(none.policy, undefined);
  assert.equal(none.note, 'no matching ObservationPolicy');

  // Never a policy from another namespace.
  assert.equal(selectPolicy(pod().build(), 'third', lookup).policy, undefined);
});
