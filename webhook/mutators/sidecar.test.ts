import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PolicySpec } from '../../lib/policy/index.ts';
import { pod, policy } from '../testing/fixtures.ts';
import { addSidecarContainer, parseQuantity, sidecarResources } from './sidecar.ts';
import { deepFreeze, input, sidecarOf } from './testkit.ts';

test('regular mode: appended to containers, with probes and a locked-down security context', () => {
  const before = deepFreeze(pod().build());
  const { pod: after, warnings } = addSidecarContainer(before, input());
  assert.deepEqual(warnings, []);
  assert.equal(after.spec?.containers.length, 2);
  assert.equal(after.spec?.containers[1]?.name, 'axom-observer');
  assert.equal(after.spec?.initContainers, undefined);
  const c = sidecarOf(after);
  assert.equal(c.image, 'example.com/axom:1');
  assert.equal(c.imagePullPolicy, 'IfNotPresent');
  assert.deepEqual(c.args, ['sidecar']);
  assert.equal(c.restartPolicy, undefined);
  assert.deepEqual(c.ports, [{ name: 'axom-metrics', containerPort: 2112, protocol: 'TCP' }]);
  assert.deepEqual(c.securityContext?.capabilities, { drop: ['ALL'], add: ['NET_RAW'] });
  assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
  assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
  assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(c.startupProbe?.httpGet?.path, '/healthz');
  for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) assert.equal(p?.httpGet?.port, 2112);
  assert.deepEqual(c.resources, {
    requests: { cpu: '50m', memory: '64Mi' },
    limits: { cpu: '500m', memory: '384Mi' },
  });
  // The input pod is untouched (it is frozen; a write would have thrown) and shared where unchanged.
  assert.equal(after.metadata, before.metadata);
  assert.equal(after.spec?.containers[0], before.spec?.containers[0]);
});

test('native mode: first init container with restartPolicy Always', () => {
  const before = deepFreeze(pod().initContainer({ name: 'migrate', image: 'm' }).build());
  const { pod: after } = addSidecarContainer(before, input({ nativeSidecar: true }));
  assert.deepEqual(
    after.spec?.initContainers?.map((c) => c.name),
    ['axom-observer', 'migrate'],
  );
  assert.equal(after.spec?.initContainers?.[0]?.restartPolicy, 'Always');
  assert.equal(after.spec?.containers.length, 1);
});

test('image, pull policy and resources from the policy', () => {
  const p = policy('p', 'agents', {
    sidecar: {
      image: 'registry.local/axom:2',
      imagePullPolicy: 'Always',
      resources: { requests: { cpu: '100m', memory: 128 * 1024 * 1024 }, limits: { memory: '512Mi' } },
      nativeSidecar: 'auto',
      tlsKeyLog: false,
    } as PolicySpec['sidecar'],
  });
  const c = sidecarOf(addSidecarContainer(pod().build(), input({ policy: p })).pod);
  assert.equal(c.image, 'registry.local/axom:2');
  assert.equal(c.imagePullPolicy, 'Always');
  assert.deepEqual(c.resources, {
    requests: { cpu: '100m', memory: '134217728' },
    limits: { memory: '512Mi' },
  });
});

test('a limit below its request is dropped with a warning, never a refused pod', () => {
  const p = policy('p', 'agents', {
    sidecar: {
      resources: { requests: { memory: '1Gi' } },
      nativeSidecar: 'auto',
      tlsKeyLog: false,
    } as PolicySpec['sidecar'],
  });
  const { resources, warnings } = sidecarResources(input({ policy: p }));
  assert.deepEqual(resources, { requests: { memory: '1Gi' }, limits: { cpu: '500m' } });
  assert.match(warnings[0] ?? '', /memory limit 384Mi is below its request 1Gi/);
});

test('a pod already using port 2112 gets a warning', () => {
  const before = pod()
    .container({ name: 'exporter', ports: [{ containerPort: 2112 }] })
    .build();
  const { warnings } = addSidecarContainer(before, input());
  assert.match(warnings[0] ?? '', /container exporter declares port 2112/);
});

test('parseQuantity', () => {
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('64Mi'), 64 * 2 ** 20);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
  assert.equal(parseQuantity('lots'), undefined);
});
