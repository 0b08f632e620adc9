import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PolicySpec } from '../../lib/policy/index.ts';
import { pod, policy } from '../testing/fixtures.ts';
import { addSidecarEnv, sidecarEnv } from './env.ts';
import { addSidecarContainer } from './sidecar.ts';
import { deepFreeze, input, sidecarOf } from './testkit.ts';

const downward = [
  { name: 'AXOM_POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
  {
    name: 'AXOM_POD_NAMESPACE',
    valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
  },
  { name: 'AXOM_NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
];

test('defaults: only the downward API', () => {
  assert.deepEqual(sidecarEnv(input()), downward);
});

test('with a policy: rules path and the export section', () => {
  const p = policy('llm', 'agents', {
    export: {
      enabled: true,
      backendUrl: 'https://collector.example.com/v1/signals',
      batchSize: 200,
      flushIntervalSeconds: 10,
    } as PolicySpec['export'],
  });
  assert.deepEqual(sidecarEnv(input({ policy: p })), [
    ...downward,
    { name: 'AXOM_RULES', value: '/etc/axom/rules.yaml' },
    { name: 'AXOM_BACKEND_URL', value: 'https://collector.example.com/v1/signals' },
    { name: 'AXOM_BATCH_SIZE', value: '200' },
    { name: 'AXOM_FLUSH_INTERVAL', value: '10s' },
  ]);
});

test('export enabled without a URL uses the operator default; disabled exports nothing', () => {
  const on = policy('a', 'n', { export: { enabled: true, batchSize: 100 } as PolicySpec['export'] });
  const env = sidecarEnv(
    input({ policy: on, settings: { backendUrlDefault: 'https://central.example.com' } }),
  );
  assert.equal(env.find((e) => e.name === 'AXOM_BACKEND_URL')?.value, 'https://central.example.com');
  const off = policy('a', 'n', {
    export: { enabled: false, backendUrl: 'https://x' } as PolicySpec['export'],
  });
  assert.equal(
    sidecarEnv(input({ policy: off })).find((e) => e.name === 'AXOM_BACKEND_URL'),
    undefined,
  );
});

test('no API key in the environment: the sidecar reads the mounted file', () => {
  const p = policy('a', 'n', {
    export: {
      enabled: true,
      apiKey: { source: 'Secret', secretRef: { name: 's', key: 'k' } },
    } as PolicySpec['export'],
  });
  assert.equal(
    sidecarEnv(input({ policy: p })).some((e) => e.name === 'AXOM_API_KEY'),
    false,
  );
});

test('the mutator sets the env on our container only', () => {
  const before = deepFreeze(addSidecarContainer(pod().build(), input()).pod);
  const after = addSidecarEnv(before, input()).pod;
  assert.deepEqual(sidecarOf(after).env, downward);
  assert.equal(after.spec?.containers[0], before.spec?.containers[0]);
});
