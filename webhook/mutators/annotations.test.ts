import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PolicySpec } from '../../lib/policy/index.ts';
import { pod, policy } from '../testing/fixtures.ts';
import { addAnnotations, canonicalJson, configHash } from './annotations.ts';
import { addSidecarContainer } from './sidecar.ts';
import { deepFreeze, input } from './testkit.ts';

test('status, policy and config-hash on an injected pod', () => {
  const p = policy('llm', 'agents');
  const i = input({ policy: p });
  const before = deepFreeze(addSidecarContainer(pod().annotate('keep', 'me').build(), i).pod);
  const after = addAnnotations(before, i).pod;
  const a = after.metadata?.annotations ?? {};
  assert.equal(a.keep, 'me');
  assert.equal(a['observer.axom.ai/status'], 'injected');
  assert.equal(a['observer.axom.ai/policy'], 'llm');
  assert.match(a['observer.axom.ai/config-hash'] ?? '', /^[0-9a-f]{16}$/);
});

test('without a policy the status says the defaults are used, and why', () => {
  const i = input({ policyNote: 'policy "x" not found in namespace agents' });
  const after = addAnnotations(addSidecarContainer(pod().build(), i).pod, i).pod;
  const a = after.metadata?.annotations ?? {};
  assert.equal(
    a['observer.axom.ai/status'],
    'injected: built-in defaults (policy "x" not found in namespace agents)',
  );
  assert.equal(a['observer.axom.ai/policy'], undefined);
});

test('a pod without metadata gets annotations', () => {
  const after = addAnnotations({ spec: { containers: [] } }, input()).pod;
  assert.equal(
    after.metadata?.annotations?.['observer.axom.ai/status'],
    'injected: built-in defaults (no matching ObservationPolicy)',
  );
});

test('config-hash follows the injected configuration and nothing else', () => {
  const spec = (tlsKeyLog: boolean) => ({
    sidecar: { nativeSidecar: 'auto', tlsKeyLog } as PolicySpec['sidecar'],
  });
  const a = policy('p', 'agents', spec(false));
  const b = policy('p', 'agents', spec(true));
  const i = input({ policy: a });
  const injected = addSidecarContainer(pod().build(), i).pod;
  const otherApp = addSidecarContainer(pod().label('x', 'y').env('A', 'B').build(), i).pod;
  assert.equal(configHash(injected, a), configHash(otherApp, a), 'app changes do not matter');
  assert.notEqual(configHash(injected, a), configHash(injected, b), 'policy changes do');
  const otherImage = addSidecarContainer(
    pod().build(),
    input({ policy: a, settings: { sidecarImage: 'x:2' } }),
  ).pod;
  assert.notEqual(configHash(injected, a), configHash(otherImage, a), 'sidecar changes do');
});

test('canonicalJson sorts keys and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] }), '{"a":[{"d":2}],"b":1}');
});
