import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoalescingCache } from '../../../src/server/auth/coalescing-cache.js';

interface Decision {
  allowed: boolean;
  review: number;
}

/** A load the test answers when it chooses, counting how many were started. */
function controlledLoads() {
  let started = 0;
  const pending: { resolve: (value: Decision) => void; reject: (error: Error) => void }[] = [];
  return {
    get started() {
      return started;
    },
    load: () =>
      new Promise<Decision>((resolve, reject) => {
        started++;
        pending.push({ resolve, reject });
      }),
    answer: (value: Decision) => pending.shift()?.resolve(value),
    fail: (error: Error) => pending.shift()?.reject(error),
  };
}

/** A cache with a 10 s TTL on a clock the test moves, holding review 1 of 'hpa', loaded at 1,000 ms. */
async function cacheHoldingReviewOne() {
  const clock = { now: 1_000 }; // lru-cache takes a start time of 0 for no TTL
  const cache = new CoalescingCache<Decision>({ maxEntries: 10, ttlMs: () => 10_000, now: () => clock.now });
  const loads = controlledLoads();
  const first = cache.getOrLoad('hpa', loads.load);
  loads.answer({ allowed: true, review: 1 });
  assert.deepEqual(await first, { allowed: true, review: 1 });
  return { cache, loads, clock };
}

/** What `promise` settles with before the next turn of the event loop, or 'waiting'. */
function withinThisTurn<T>(promise: Promise<T>): Promise<T | 'waiting'> {
  return Promise.race([promise, new Promise<'waiting'>((resolve) => setImmediate(() => resolve('waiting')))]);
}

describe('CoalescingCache refresh-ahead', () => {
  it('reloads a value asked for in the last 20 % of its TTL in the background, so the callers at its expiry wait for no load', async () => {
    const { cache, loads, clock } = await cacheHoldingReviewOne();

    clock.now = 8_900;
    assert.deepEqual(await withinThisTurn(cache.getOrLoad('hpa', loads.load)), { allowed: true, review: 1 });
    assert.equal(loads.started, 1, 'before the last 20 % of the TTL a hit only reads');

    clock.now = 9_500;
    assert.deepEqual(
      await withinThisTurn(cache.getOrLoad('hpa', loads.load)),
      { allowed: true, review: 1 },
      'the hit is answered from the valid value while the reload runs',
    );
    assert.equal(loads.started, 2, 'the hit started one reload');
    await withinThisTurn(cache.getOrLoad('hpa', loads.load));
    assert.equal(loads.started, 2, 'one reload at a time');
    loads.answer({ allowed: true, review: 2 });
    await new Promise((resolve) => setImmediate(resolve));

    clock.now = 11_500;
    assert.deepEqual(
      await withinThisTurn(cache.getOrLoad('hpa', loads.load)),
      { allowed: true, review: 2 },
      'at the first value’s expiry the reloaded one is there',
    );
    assert.equal(loads.started, 2);
  });

  it('never serves a value past its TTL: a failed reload ahead is not retried by each hit, and the expiry loads again', async () => {
    const { cache, loads, clock } = await cacheHoldingReviewOne();

    clock.now = 9_500;
    await cache.getOrLoad('hpa', loads.load);
    loads.fail(new Error('SubjectAccessReview failed'));
    await new Promise((resolve) => setImmediate(resolve));
    clock.now = 10_000;
    assert.deepEqual(await cache.getOrLoad('hpa', loads.load), { allowed: true, review: 1 });
    assert.equal(loads.started, 2, 'the failed reload is not retried by every hit');

    clock.now = 11_001;
    const atExpiry = cache.getOrLoad('hpa', loads.load);
    assert.equal(await withinThisTurn(atExpiry), 'waiting', 'an expired value is not served');
    assert.equal(loads.started, 3);
    loads.answer({ allowed: false, review: 3 });
    assert.deepEqual(await atExpiry, { allowed: false, review: 3 });
  });
});
