import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mutatingWebhookConfiguration, validatingWebhookConfiguration } from './register.ts';

test('URL-based configurations: paths, CA bundle, Ignore by default, excluded namespaces', () => {
  const o = {
    url: 'https://127.0.0.1:9443/',
    caBundle: 'PEM',
    excludedNamespaces: ['axom-system', 'kube-system'],
  };
  const m = mutatingWebhookConfiguration(o).webhooks?.[0];
  assert.equal(m?.clientConfig.url, 'https://127.0.0.1:9443/mutate-v1-pod');
  assert.equal(m?.clientConfig.caBundle, Buffer.from('PEM').toString('base64'));
  assert.equal(m?.failurePolicy, 'Ignore');
  assert.equal(m?.sideEffects, 'None');
  assert.equal(m?.reinvocationPolicy, 'IfNeeded');
  assert.deepEqual(m?.rules?.[0]?.operations, ['CREATE']);
  assert.deepEqual(m?.namespaceSelector?.matchExpressions?.[0]?.values, ['axom-system', 'kube-system']);
  const v = validatingWebhookConfiguration({ ...o, failurePolicy: 'Fail' }).webhooks?.[0];
  assert.equal(v?.clientConfig.url, 'https://127.0.0.1:9443/validate-observationpolicy');
  assert.equal(v?.failurePolicy, 'Fail');
  assert.deepEqual(v?.rules?.[0]?.resources, ['observationpolicies']);
});

test('service-based configuration', () => {
  const m = mutatingWebhookConfiguration({
    service: { name: 'axom', namespace: 'axom-system' },
    caBundle: 'x',
  }).webhooks?.[0];
  assert.deepEqual(m?.clientConfig.service, {
    name: 'axom',
    namespace: 'axom-system',
    port: 443,
    path: '/mutate-v1-pod',
  });
});
