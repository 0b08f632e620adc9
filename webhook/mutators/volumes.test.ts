import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pod, policy } from '../testing/fixtures.ts';
import { addSidecarContainer } from './sidecar.ts';
import { deepFreeze, input, sidecarOf } from './testkit.ts';
import { addPolicyVolumes, RULES_VOLUME, SECRET_VOLUME } from './volumes.ts';

const withSidecar = (i = input()) => deepFreeze(addSidecarContainer(pod().build(), i).pod);

test('with a policy: its ConfigMap as /etc/axom and its Secret at /etc/axom/secret, both optional', () => {
  const i = input({ policy: policy('llm', 'agents') });
  const before = withSidecar(i);
  const { pod: after, warnings } = addPolicyVolumes(before, i);
  assert.deepEqual(warnings, []);
  assert.deepEqual(after.spec?.volumes, [
    { name: RULES_VOLUME, configMap: { name: 'llm-axom-rules', optional: true } },
    { name: SECRET_VOLUME, secret: { secretName: 'llm-axom-api-key', optional: true, defaultMode: 0o400 } },
  ]);
  const mounts = sidecarOf(after).volumeMounts ?? [];
  assert.deepEqual(mounts, [
    { name: RULES_VOLUME, mountPath: '/etc/axom', readOnly: true },
    { name: SECRET_VOLUME, mountPath: '/etc/axom/secret', readOnly: true },
  ]);
  assert.ok(
    mounts.every((m) => !('subPath' in m)),
    'directory mounts, so the ..data swap reaches the sidecar',
  );
  // App containers get nothing.
  assert.equal(after.spec?.containers[0]?.volumeMounts, undefined);
});

test('without a policy nothing is mounted', () => {
  const before = withSidecar();
  assert.equal(addPolicyVolumes(before, input()).pod, before);
});

test('an existing volume of the same name is kept, with a warning', () => {
  const i = input({ policy: policy('llm', 'agents') });
  const base = addSidecarContainer(pod().build(), i).pod;
  if (base.spec) base.spec.volumes = [{ name: RULES_VOLUME, emptyDir: {} }];
  const { pod: after, warnings } = addPolicyVolumes(deepFreeze(base), i);
  assert.equal(after.spec?.volumes?.filter((v) => v.name === RULES_VOLUME).length, 1);
  assert.match(warnings[0] ?? '', /already has a volume named axom-observer-rules/);
});
