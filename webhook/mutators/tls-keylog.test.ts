import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { PolicySpec } from '../../lib/policy/index.ts';
import { pod, policy } from '../testing/fixtures.ts';
import { addSidecarContainer } from './sidecar.ts';
import { deepFreeze, input, sidecarOf } from './testkit.ts';
import { addTlsKeyLog, KEYLOG_VOLUME, NODE_KEYLOG_FLAG } from './tls-keylog.ts';

const keyLogPolicy = policy('tls', 'agents', {
  sidecar: { nativeSidecar: 'auto', tlsKeyLog: true } as PolicySpec['sidecar'],
});
const on = input({ policy: keyLogPolicy });

function run(p: V1Pod) {
  const withSidecar = deepFreeze(addSidecarContainer(p, on).pod);
  return addTlsKeyLog(withSidecar, on);
}

const envOf = (p: V1Pod, name: string) => p.spec?.containers.find((c) => c.name === name)?.env ?? [];

test('off unless the policy turns it on', () => {
  const p = deepFreeze(pod().build());
  assert.equal(addTlsKeyLog(p, input()).pod, p);
  assert.equal(addTlsKeyLog(p, input({ policy: policy('x', 'agents') })).pod, p);
});

test('in-memory volume in every container; SSLKEYLOGFILE and NODE_OPTIONS in app containers', () => {
  const { pod: after, warnings } = run(pod().initContainer({ name: 'init', image: 'i' }).build());
  assert.deepEqual(warnings, []);
  assert.deepEqual(after.spec?.volumes, [
    { name: KEYLOG_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
  ]);
  for (const c of [...(after.spec?.initContainers ?? []), ...(after.spec?.containers ?? [])]) {
    const m = c.volumeMounts?.find((v) => v.name === KEYLOG_VOLUME);
    assert.equal(m?.mountPath, '/var/run/axom/tls', c.name);
  }
  assert.deepEqual(envOf(after, 'agent'), [
    { name: 'SSLKEYLOGFILE', value: '/var/run/axom/tls/keylog' },
    { name: 'NODE_OPTIONS', value: NODE_KEYLOG_FLAG },
  ]);
  assert.equal(after.spec?.initContainers?.[0]?.env?.length, 2);
  // The sidecar reads the key log, read-only, and gets no app environment.
  const ours = sidecarOf(after);
  assert.equal(ours.volumeMounts?.find((v) => v.name === KEYLOG_VOLUME)?.readOnly, true);
  assert.equal(ours.env, undefined);
});

test('an existing literal NODE_OPTIONS is extended, not replaced', () => {
  const { pod: after } = run(pod().env('NODE_OPTIONS', '--max-old-space-size=512').build());
  assert.equal(
    envOf(after, 'agent').find((e) => e.name === 'NODE_OPTIONS')?.value,
    `--max-old-space-size=512 ${NODE_KEYLOG_FLAG}`,
  );
  // Idempotent: a second pass adds nothing.
  const again = addTlsKeyLog(deepFreeze(after), on);
  assert.deepEqual(again.pod, after);
});

test('NODE_OPTIONS from valueFrom is left alone with a warning', () => {
  const ref = { valueFrom: { configMapKeyRef: { name: 'node', key: 'options' } } };
  const { pod: after, warnings } = run(pod().env('NODE_OPTIONS', ref).build());
  assert.deepEqual(
    envOf(after, 'agent').find((e) => e.name === 'NODE_OPTIONS'),
    { name: 'NODE_OPTIONS', ...ref },
  );
  assert.match(warnings[0] ?? '', /container agent takes NODE_OPTIONS from valueFrom; it was left alone/);
  assert.ok(envOf(after, 'agent').some((e) => e.name === 'SSLKEYLOGFILE'));
});

test('envFrom may hold NODE_OPTIONS: not overridden, with a warning', () => {
  const p = pod().build();
  const c = p.spec?.containers[0];
  if (c) c.envFrom = [{ configMapRef: { name: 'app-env' } }];
  const { pod: after, warnings } = run(p);
  assert.equal(
    envOf(after, 'agent').find((e) => e.name === 'NODE_OPTIONS'),
    undefined,
  );
  assert.match(warnings[0] ?? '', /uses envFrom/);
});

test('an app-chosen SSLKEYLOGFILE is kept, with a warning', () => {
  const { pod: after, warnings } = run(pod().env('SSLKEYLOGFILE', '/tmp/keys').build());
  assert.equal(envOf(after, 'agent').find((e) => e.name === 'SSLKEYLOGFILE')?.value, '/tmp/keys');
  assert.match(warnings[0] ?? '', /sets SSLKEYLOGFILE itself/);
});
