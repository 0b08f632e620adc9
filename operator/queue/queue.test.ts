import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, KeyedBackoff } from './backoff.ts';
import { ManualClock } from './clock.ts';
import { TokenBucket } from './ratelimit.ts';
import { WorkQueue } from './workqueue.ts';

describe('backoffDelay', () => {
  const opts = { baseMs: 100, maxMs: 1000 };
  it('doubles per attempt and caps at maxMs (no jitter at random=1)', () => {
    const d = [1, 2, 3, 4, 5, 10, 100].map((n) => backoffDelay(n, opts, () => 1));
    assert.deepEqual(d, [100, 200, 400, 800, 1000, 1000, 1000]);
  });
  it('keeps at least half the delay with the default jitter', () => {
    assert.equal(
      backoffDelay(3, opts, () => 0),
      200,
    );
    assert.equal(
      backoffDelay(3, { ...opts, jitter: 0 }, () => 0),
      400,
    );
  });
  it('never overflows for huge attempt counts', () => {
    assert.equal(
      backoffDelay(10_000, opts, () => 1),
      1000,
    );
  });
  it('counts per key and resets on forget', () => {
    const b = new KeyedBackoff({ baseMs: 10, maxMs: 1000, jitter: 0 });
    assert.deepEqual([b.next('a'), b.next('a'), b.next('b'), b.next('a')], [10, 20, 10, 40]);
    b.forget('a');
    assert.equal(b.next('a'), 10);
    assert.equal(b.attempts('b'), 1);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then spaces requests at 1/qps', () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(10, 3, clock);
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    // Reservations queue up: the 4th waits 100 ms, the 5th 200 ms.
    assert.equal(bucket.reserve(), 100);
    assert.equal(bucket.reserve(), 200);
    clock.advance(1000);
    // Refilled to the burst, no more.
    assert.equal(Math.round(bucket.available()), 3);
  });
  it('rejects nonsense settings', () => {
    assert.throws(() => new TokenBucket(0, 1), RangeError);
    assert.throws(() => new TokenBucket(1, 0), RangeError);
  });
});

describe('WorkQueue', () => {
  it('dedups keys while queued and hands them out in order', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.depth, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.depth, 0);
  });

  it('never hands one key to two workers; an add during processing requeues after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    assert.equal(k, 'a');
    q.add('a');
    assert.equal(q.depth, 0, 'not queued while being processed');
    q.done('a');
    assert.equal(q.depth, 1, 'queued again once done');
    assert.equal(await q.get(), 'a');
    q.done('a');
    assert.equal(q.depth, 0);
  });

  it('wakes a waiting worker on add', async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.add('x');
    assert.equal(await p, 'x');
    assert.equal(q.processingCount, 1);
  });

  it('retries with per-key exponential backoff and forgets on success', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, backoff: { baseMs: 100, maxMs: 10_000, jitter: 0 } });
    q.add('k');
    await q.get();
    assert.equal(q.retry('k'), 100);
    q.done('k');
    assert.equal(q.depth, 0);
    assert.equal(q.delayedCount, 1);
    clock.advance(99);
    assert.equal(q.depth, 0);
    clock.advance(1);
    assert.equal(q.depth, 1);
    await q.get();
    assert.equal(q.retry('k'), 200);
    q.done('k');
    q.forget('k');
    assert.equal(q.attempts('k'), 0);
  });

  it('keeps the earlier of two delayed adds', () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    q.addAfter('k', 500);
    q.addAfter('k', 100);
    q.addAfter('k', 900);
    assert.equal(q.delayedCount, 1);
    clock.advance(100);
    assert.equal(q.depth, 1);
    assert.equal(q.delayedCount, 0);
  });

  it('is bounded: drops and counts keys beyond maxSize', () => {
    const dropped: string[] = [];
    const q = new WorkQueue({ maxSize: 2, onDrop: (k) => dropped.push(k) });
    assert.equal(q.add('a'), true);
    assert.equal(q.add('b'), true);
    assert.equal(q.add('a'), true, 'a duplicate is not a new key');
    assert.equal(q.add('c'), false);
    assert.equal(q.addAfter('d', 1000), false);
    assert.deepEqual(dropped, ['c', 'd']);
    assert.equal(q.dropped, 2);
    q.shutdown();
  });

  it('waits for a rate-limit token before handing out a key', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, rateLimiter: new TokenBucket(10, 1, clock) });
    q.add('a');
    q.add('b');
    assert.equal(await q.get(), 'a');
    let got: string | undefined;
    const p = q.get().then((k) => {
      got = k;
    });
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(got, undefined, 'b waits for its token');
    assert.equal(clock.pending, 1);
    clock.advance(100);
    await p;
    assert.equal(got, 'b');
  });

  it('shutdown releases waiting workers and clears timers', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    const p = q.get();
    q.addAfter('x', 1000);
    q.shutdown();
    assert.equal(await p, undefined);
    assert.equal(clock.pending, 0);
    assert.equal(q.add('y'), false);
    assert.equal(await q.get(), undefined);
  });
});
