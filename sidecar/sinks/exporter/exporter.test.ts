import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ApiKeySource, backoffDelay, parseRetryAfter, Ring } from './index.ts';

test('Ring keeps order, drops the oldest when full and takes from the front', () => {
  const r = new Ring<number>(3);
  assert.equal(r.push(1), undefined);
  r.push(2);
  r.push(3);
  assert.equal(r.push(4), 1);
  assert.deepEqual(r.take(2), [2, 3]);
  assert.equal(r.unshift(3), true);
  assert.equal(r.unshift(2), true);
  assert.equal(r.unshift(1), false);
  assert.deepEqual(r.take(10), [2, 3, 4]);
  assert.equal(r.length, 0);
  assert.equal(r.shift(), undefined);
  assert.throws(() => new Ring(0), RangeError);
});

test('Retry-After: seconds and HTTP dates', () => {
  const now = Date.parse('2026-11-21T00:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(['7'], now), 7000);
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 00:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Fri, 20 Nov 2026 00:00:05 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('backoff doubles per attempt, is capped, and jitters within [exp/2, exp]', () => {
  const retry = { initialDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
  assert.equal(
    backoffDelay(1, retry, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(1, retry, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(3, retry, () => 1),
    400,
  );
  assert.equal(
    backoffDelay(20, retry, () => 1),
    1000,
  );
  assert.equal(
    backoffDelay(20, retry, () => 0),
    500,
  );
});

test('ApiKeySource reads the file, re-reads it when it changes, and falls back to the env value', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'axom-key-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'api-key');
  const source = new ApiKeySource(file, 'from-env');
  assert.equal(await source.get(), 'from-env');
  await writeFile(file, 'key-one\n');
  assert.equal(await source.get(), 'key-one');
  // Replace atomically, as a Secret volume update does.
  await writeFile(join(dir, 'tmp'), 'key-two');
  await rename(join(dir, 'tmp'), file);
  assert.equal(await source.get(), 'key-two');
  await writeFile(file, '');
  assert.equal(await source.get(), 'from-env');
  assert.equal(await new ApiKeySource(undefined, '').get(), undefined);
});
