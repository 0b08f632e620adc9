import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelLimiter } from './labels.ts';

test('labelLimiter passes the first distinct values, then maps new ones to other', () => {
  const label = labelLimiter(2);
  assert.deepEqual(['a', 'b', 'a', 'c', undefined, '', 'b', 'd'].map(label), [
    'a',
    'b',
    'a',
    'other',
    'unknown',
    'unknown',
    'b',
    'other',
  ]);
});
