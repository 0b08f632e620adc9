import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { apply, diff, escapePointerToken, jsonEqual } from './jsonpatch.ts';

test('escapes ~ before / in pointer tokens (RFC 6901)', () => {
  assert.equal(escapePointerToken('observer.axom.ai/status'), 'observer.axom.ai~1status');
  assert.equal(escapePointerToken('a~/b'), 'a~0~1b');
  assert.equal(escapePointerToken('plain'), 'plain');
});

test('annotation keys with / and ~ round-trip through diff and apply', () => {
  const from = { metadata: { annotations: { 'a/b': '1' } } };
  const to = {
    metadata: { annotations: { 'a/b': '1', 'observer.axom.ai/status': 'injected', 'x~y/z': 'v' } },
  };
  const ops = diff(from, to);
  assert.deepEqual(ops, [
    { op: 'add', path: '/metadata/annotations/observer.axom.ai~1status', value: 'injected' },
    { op: 'add', path: '/metadata/annotations/x~0y~1z', value: 'v' },
  ]);
  assert.deepEqual(apply(from, ops), to);
});

test('adds a missing parent object as a whole', () => {
  const ops = diff({ metadata: {} }, { metadata: { annotations: { k: 'v' } } });
  assert.deepEqual(ops, [{ op: 'add', path: '/metadata/annotations', value: { k: 'v' } }]);
});

test('arrays grow with /- and shrink from the end', () => {
  assert.deepEqual(diff({ a: [1, 2] }, { a: [1, 2, 3, 4] }), [
    { op: 'add', path: '/a/-', value: 3 },
    { op: 'add', path: '/a/-', value: 4 },
  ]);
  const shrink = diff({ a: [1, 2, 3] }, { a: [1] });
  assert.deepEqual(shrink, [
    { op: 'remove', path: '/a/2' },
    { op: 'remove', path: '/a/1' },
  ]);
  assert.deepEqual(apply({ a: [1, 2, 3] }, shrink), { a: [1] });
});

test('undefined members count as absent; equal documents give no operations', () => {
  assert.deepEqual(diff({ a: 1, b: undefined }, { a: 1 }), []);
  assert.deepEqual(diff({ a: { b: [1, { c: 'x' }] } }, { a: { b: [1, { c: 'x' }] } }), []);
  assert.deepEqual(diff({ a: 1 }, { a: 1, b: undefined }), []);
});

test('type changes are replaced', () => {
  assert.deepEqual(diff({ a: [1] }, { a: { 0: 1 } }), [{ op: 'replace', path: '/a', value: { 0: 1 } }]);
  assert.deepEqual(diff({ a: 1 }, { a: null }), [{ op: 'replace', path: '/a', value: null }]);
});

test('apply rejects paths that do not exist', () => {
  assert.throws(() => apply({ a: {} }, [{ op: 'add', path: '/b/c', value: 1 }]), /does not exist/);
  assert.throws(() => apply({ a: [1] }, [{ op: 'replace', path: '/a/5', value: 1 }]), /out of range/);
  assert.throws(() => apply({ a: {} }, [{ op: 'remove', path: '/a/x' }]), /does not exist/);
});

test('property: applying diff(a, b) to a gives b', () => {
  const key = fc.oneof(fc.constantFrom('a', 'b', 'x/y', 'm~n', '~1', ''), fc.string({ maxLength: 4 }));
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean(), fc.constant(null)),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  })).value;
  fc.assert(
    fc.property(json, json, (a, b) => {
      const ops = diff(a, b);
      assert.ok(jsonEqual(apply(a, ops), b));
      if (jsonEqual(a, b)) assert.equal(ops.length, 0);
    }),
    { numRuns: 500 },
  );
});
