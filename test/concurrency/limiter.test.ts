import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ApiError } from '../../src/api/errors.js';
import { createLimiter } from '../../src/concurrency/limiter.js';
import type { ResourceAttributes } from '../../src/kube/types.js';
import { createSubjectAccessReviewAuthorizer } from '../../src/server/auth/subject-access-review.js';

/** A task that runs until released, recording how many ran at once. */
function gate() {
  let running = 0;
  let peak = 0;
  const releases: (() => void)[] = [];
  return {
    get peak() {
      return peak;
    },
    task: () =>
      new Promise<string>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        releases.push(() => {
          running--;
          resolve('done');
        });
      }),
    releaseAll() {
      for (const release of releases.splice(0)) release();
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('the concurrency limiter', () => {
  it('runs at most maxConcurrent, queues maxQueued in order, and refuses the rest with a counted 429', async () => {
    const registry = new Registry();
    const limiter = createLimiter({ name: 'test backend', label: 'test', maxConcurrent: 2, maxQueued: 3, registry });
    const work = gate();
    const accepted = Array.from({ length: 5 }, () => limiter.run(work.task));
    await tick();
    assert.deepEqual(limiter.stats(), { running: 2, queued: 3 });
    await assert.rejects(limiter.run(work.task), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.reason, 'TooManyRequests');
      assert.equal(error.code, 429);
      assert.equal(error.retryAfterSeconds, 1);
      assert.match(error.message, /^test backend: too many requests at once \(2 running, 3 waiting\); retry after 1s$/);
      return true;
    });
    for (let i = 0; i < 3; i++) {
      work.releaseAll();
      await tick();
    }
    assert.deepEqual(await Promise.all(accepted), Array(5).fill('done'));
    assert.equal(work.peak, 2);
    const rejected = await registry.getSingleMetric('hpa_metrics_adapter_limiter_rejected_total')?.get();
    assert.equal(rejected?.values.find((v) => v.labels.limiter === 'test')?.value, 1);
  });

  it('drops a queued task whose caller gave up, and frees its place', async () => {
    const limiter = createLimiter({ name: 't', maxConcurrent: 1, maxQueued: 1 });
    const work = gate();
    const first = limiter.run(work.task);
    const caller = new AbortController();
    const queued = limiter.run(work.task, caller.signal);
    caller.abort(new Error('caller left'));
    await assert.rejects(queued, /caller left/);
    assert.deepEqual(limiter.stats(), { running: 1, queued: 0 });
    const next = limiter.run(work.task);
    work.releaseAll();
    await tick();
    work.releaseAll();
    assert.equal(await first, 'done');
    assert.equal(await next, 'done');
  });
});

describe('SubjectAccessReviews behind the limiter', () => {
  it('sends at most maxConcurrent reviews, answers 429 beyond the queue, and never queues a cached decision', async () => {
    let inFlight = 0;
    let peak = 0;
    let sent = 0;
    const pending: (() => void)[] = [];
    const kube = {
      createSubjectAccessReview: () =>
        new Promise<{ allowed: boolean; denied: boolean; reason: string }>((resolve) => {
          sent++;
          inFlight++;
          peak = Math.max(peak, inFlight);
          pending.push(() => {
            inFlight--;
            resolve({ allowed: true, denied: false, reason: '' });
          });
        }),
    };
    const authorizer = createSubjectAccessReviewAuthorizer({
      kube,
      limiter: createLimiter({ name: 'SubjectAccessReview', maxConcurrent: 2, maxQueued: 2 }),
    });
    const user = (n: number) => ({ name: `user-${n}`, groups: [], extra: {} });
    const attributes: ResourceAttributes = {
      verb: 'get',
      group: 'custom.metrics.k8s.io',
      version: 'v1beta1',
      resource: 'pods',
      namespace: 'default',
    };

    const first = authorizer.authorize(user(0), attributes);
    await tick();
    pending.shift()?.();
    await first;
    const outcomes = Array.from({ length: 10 }, (_, n) =>
      authorizer.authorize(user(n + 1), attributes).then(
        () => 'allowed',
        (error: ApiError) => error.reason,
      ),
    );
    await tick();
    const cached = await authorizer.authorize(user(0), attributes).then(() => 'allowed');
    assert.equal(cached, 'allowed', 'a cached decision is answered while the limiter is full');
    for (let i = 0; i < 5; i++) {
      for (const release of pending.splice(0)) release();
      await tick();
    }
    const results = await Promise.all(outcomes);
    assert.equal(results.filter((r) => r === 'allowed').length, 4);
    assert.equal(results.filter((r) => r === 'TooManyRequests').length, 6);
    assert.equal(peak, 2);
    assert.equal(sent, 5);
  });
});
