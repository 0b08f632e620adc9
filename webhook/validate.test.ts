import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../lib/log.ts';
import type { PolicySpec } from '../lib/policy/index.ts';
import { parseAdmissionReview } from './review.ts';
import { AdmissionReviewBuilder, policy } from './testing/fixtures.ts';
import { admitPolicy } from './validate.ts';

const review = (spec: unknown, op: 'CREATE' | 'UPDATE' | 'DELETE' = 'CREATE') =>
  parseAdmissionReview(
    AdmissionReviewBuilder.forPolicy(policy('p', 'agents', spec as Partial<PolicySpec>))
      .operation(op)
      .build(),
    'ObservationPolicy',
  );

test('a valid policy is allowed', () => {
  const r = admitPolicy(review({ rules: [{ name: 'chat', match: { path: '^/v1/chat' } }] }), silentLogger);
  assert.equal(r.result, 'policy_accepted');
  assert.equal(r.response.allowed, true);
});

test('regex, CEL and duplicate names are refused with their field', () => {
  const spec = {
    rules: [
      { name: 'a', match: { path: '([unclosed' } },
      { name: 'a', alerts: [{ name: 'x', severity: 'warning', condition: 'signal.nosuchfield > 1' }] },
    ],
  };
  const r = admitPolicy(review(spec), silentLogger);
  assert.equal(r.result, 'policy_rejected');
  assert.equal(r.response.allowed, false);
  assert.equal(r.response.status?.code, 422);
  const msg = r.response.status?.message ?? '';
  assert.match(msg, /^ObservationPolicy "p" is invalid: /);
  assert.match(msg, /spec\.rules\[0\]\.match\.path/);
  assert.match(msg, /spec\.rules\[1\]\.alerts\[0\]\.condition/);
  assert.match(msg, /duplicate|already/i);
});

test('DELETE is not validated', () => {
  assert.equal(
    admitPolicy(review({ rules: 'nonsense' }, 'DELETE'), silentLogger).result,
    'ignored_operation',
  );
});

test('the request object is not changed by defaulting', () => {
  const req = review({});
  const before = JSON.stringify(req.object);
  admitPolicy(req, silentLogger);
  assert.equal(JSON.stringify(req.object), before);
});
