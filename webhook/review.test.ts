import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allow, deny, parseAdmissionReview } from './review.ts';
import { AdmissionReviewBuilder, pod } from './testing/fixtures.ts';

test('parses a valid review', () => {
  const b = AdmissionReviewBuilder.forPod(pod().build()).dryRun();
  const req = parseAdmissionReview(b.build(), 'Pod');
  assert.equal(req.uid, b.uidValue);
  assert.equal(req.operation, 'CREATE');
  assert.equal(req.namespace, 'agents');
  assert.equal(req.dryRun, true);
  assert.deepEqual(req.kind, { group: '', version: 'v1', kind: 'Pod' });
});

test('names the first thing wrong', () => {
  const good = AdmissionReviewBuilder.forPod(pod().build()).build();
  const cases: Array<[unknown, RegExp]> = [
    [null, /body must be a JSON object/],
    [[1], /body must be a JSON object/],
    [
      { ...good, apiVersion: 'admission.k8s.io/v1beta1' },
      /apiVersion must be admission.k8s.io\/v1, got "admission.k8s.io\/v1beta1"/,
    ],
    [{ ...good, kind: 'Pod' }, /kind must be AdmissionReview/],
    [{ ...good, request: undefined }, /request is missing/],
    [{ ...good, request: { ...good.request, uid: '' } }, /request.uid is missing/],
    [
      { ...good, request: { ...good.request, kind: { kind: 'Service' } } },
      /request.kind.kind must be Pod, got "Service"/,
    ],
    [{ ...good, request: { ...good.request, operation: 3 } }, /request.operation is missing/],
    [{ ...good, request: { ...good.request, object: 'x' } }, /request.object is missing/],
    [
      { ...good, request: { ...good.request, object: { kind: 'Secret' } } },
      /request.object.kind must be Pod/,
    ],
  ];
  for (const [body, re] of cases) {
    assert.throws(
      () => parseAdmissionReview(body, 'Pod'),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'AXOM_ADMISSION_BAD_REQUEST');
        assert.match(err.message, re);
        return true;
      },
    );
  }
});

test('responses: patch base64, bounded warnings, denials with status', () => {
  const r = allow(
    'u1',
    [{ op: 'add', path: '/a', value: 1 }],
    Array.from({ length: 20 }, () => 'w'.repeat(500)),
  );
  assert.equal(r.uid, 'u1');
  assert.deepEqual(JSON.parse(Buffer.from(r.patch ?? '', 'base64').toString()), [
    { op: 'add', path: '/a', value: 1 },
  ]);
  assert.equal(r.warnings?.length, 8);
  assert.ok((r.warnings?.[0]?.length ?? 0) <= 240);
  assert.deepEqual(allow('u2', []), { uid: 'u2', allowed: true });
  assert.deepEqual(deny('u3', 'bad'), {
    uid: 'u3',
    allowed: false,
    status: { code: 422, reason: 'Invalid', message: 'bad' },
  });
});
