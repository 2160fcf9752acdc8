import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import { callerOf, FakeBackend, makeCache, metricValue, patient, settle, stateOf } from './fakes.js';

const REFRESH_AHEAD = { ttlMs: 15_000, refreshAheadRatio: 0.2 };

describe('QueryCache refresh-ahead', () => {
  it('starts one background load on a hit in the last 20 % of the TTL, and the caller does not wait for it', async () => {
    const { cache, clock } = makeCache(REFRESH_AHEAD);
    const backend = new FakeBackend(() => 'first');
    await cache.fetch('q', backend.load, patient());

    backend.holds();
    clock.advance(12_000);
    const answer = cache.fetch('q', backend.load, patient());
    assert.equal(await stateOf(answer), 'fulfilled', 'the caller got its answer while the refresh is still held');
    assert.equal(await answer, 'first');
    await settle();
    assert.equal(backend.calls, 2);
    clock.advance(1_000);
    assert.equal(await cache.fetch('q', backend.load, patient()), 'first');
    assert.equal(backend.calls, 2, 'a refresh already running is not started again');

    backend.release('second');
    await settle();
    clock.advance(10_000);
    assert.equal(
      await cache.fetch('q', backend.load, patient()),
      'second',
      'the refreshed value is fresh from its load',
    );
    assert.equal(backend.calls, 2);
  });

  it('starts the refresh a hit calls for only after the turn in which the hit is answered', async () => {
    const { cache, clock } = makeCache(REFRESH_AHEAD);
    const backend = new FakeBackend((call) => call);
    await cache.fetch('q', backend.load, patient());
    clock.advance(12_000);
    let loadsWhenAnswered: number | undefined;
    const answered = cache.fetch('q', backend.load, patient()).then((value) => {
      loadsWhenAnswered = backend.calls;
      return value;
    });
    assert.equal(await answered, 1);
    assert.equal(loadsWhenAnswered, 1, 'no backend request was built before the answer');
    assert.equal(await cache.fetch('q', backend.load, patient()), 1, 'a hit meanwhile joins the refresh');
    await settle();
    assert.equal(backend.calls, 2, 'one refresh, once the turn was over');
  });

  it('does not refresh on a hit before the last part of the TTL', async () => {
    const { cache, clock } = makeCache(REFRESH_AHEAD);
    const backend = new FakeBackend((call) => call);
    await cache.fetch('q', backend.load, patient());
    clock.advance(11_999);
    await cache.fetch('q', backend.load, patient());
    await settle();
    assert.equal(backend.calls, 1);
  });

  it('never refreshes a key nobody asks for again, and keeps no timer per key', async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const { cache, clock } = makeCache(REFRESH_AHEAD);
    const backend = new FakeBackend((call) => call);
    for (let i = 0; i < 100; i++) await cache.fetch(`q${i}`, backend.load, patient());
    clock.advance(13_000);
    await cache.fetch('q0', backend.load, patient());
    await settle();

    assert.equal(backend.calls, 101, 'only the key asked for in its refresh window was reloaded');
    const timersAfter = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    assert.equal(timersAfter, timersBefore);
  });

  it('keeps serving the cached value when the background refresh fails', async () => {
    const { cache, clock, registry } = makeCache(REFRESH_AHEAD);
    const backend = new FakeBackend(() => 'cached');
    await cache.fetch('q', backend.load, patient());
    backend.fails(ApiError.unavailable('connect ECONNREFUSED'));
    clock.advance(13_000);

    assert.equal(await cache.fetch('q', backend.load, patient()), 'cached');
    await settle();
    assert.equal(await cache.fetch('q', backend.load, patient()), 'cached');
    assert.equal(
      await metricValue(registry, 'hpa_metrics_adapter_cache_requests_total', { backend: 'prometheus', result: 'hit' }),
      2,
    );
  });

  it('counts a refresh its own limiter turns away as refused, not as a backend failure that would serve stale', async () => {
    const { cache, clock, registry } = makeCache({ ...REFRESH_AHEAD, maxConcurrentLoads: 1, maxQueuedLoads: 0 });
    const backend = new FakeBackend((call) => `value ${call}`);
    assert.equal(await cache.fetch('q', backend.load, patient()), 'value 1');
    const slow = new FakeBackend(() => 'slow').holds();
    const holding = cache.fetch('other', slow.load, patient());
    await settle();

    clock.advance(13_000);
    assert.equal(await cache.fetch('q', backend.load, patient()), 'value 1', 'the hit is answered');
    await settle();
    assert.equal(backend.calls, 1, 'the refresh never reached the backend: the one slot was taken');
    const loads = 'hpa_metrics_adapter_cache_backend_loads_total';
    assert.equal(await metricValue(registry, loads, { backend: 'prometheus', outcome: 'refused' }), 1);
    assert.equal(await metricValue(registry, loads, { backend: 'prometheus', outcome: 'error' }), 0);

    slow.release('slow');
    await holding;
    clock.advance(3_000);
    assert.equal(
      await cache.fetch('q', backend.load, { ...patient(), stalePolicy: { maxStaleMs: 120_000 } }),
      'value 2',
      'past the TTL the caller gets a fresh load, not the last value as after a backend failure',
    );
  });

  it('lets a caller arriving after the TTL join the background refresh instead of starting another load', async () => {
    const { cache, clock, registry } = makeCache(REFRESH_AHEAD);
    const backend = new FakeBackend(() => 'first');
    await cache.fetch('q', backend.load, patient());
    backend.holds();
    clock.advance(13_000);
    await cache.fetch('q', backend.load, patient());
    await settle();

    clock.advance(3_000);
    const joining = cache.fetch('q', backend.load, patient());
    backend.release('second');
    assert.equal(await joining, 'second');
    assert.equal(backend.calls, 2);
    assert.equal(
      await metricValue(registry, 'hpa_metrics_adapter_cache_requests_total', {
        backend: 'prometheus',
        result: 'coalesced',
      }),
      1,
    );
  });

  it('aborts a background refresh once callers who joined it have all given up, so a hung load cannot pin the key', async () => {
    const { cache, clock } = makeCache(REFRESH_AHEAD);
    const backend = new FakeBackend(() => 'first');
    await cache.fetch('q', backend.load, patient());
    backend.holds();
    clock.advance(13_000);
    await cache.fetch('q', backend.load, patient());
    await settle();
    assert.equal(backend.signals[1]?.aborted, false);

    clock.advance(3_000);
    const impatient = new AbortController();
    const joining = cache.fetch('q', backend.load, callerOf(impatient.signal));
    await settle();
    impatient.abort(new Error('HPA request timed out'));
    await assert.rejects(joining, { message: 'HPA request timed out' });
    assert.equal(backend.signals[1]?.aborted, true);

    backend.answers(() => 'third');
    assert.equal(await cache.fetch('q', backend.load, patient()), 'third');
    assert.equal(backend.calls, 3);
  });

  it('is off when refreshAheadRatio is 0', async () => {
    const { cache, clock } = makeCache({ ttlMs: 15_000, refreshAheadRatio: 0 });
    const backend = new FakeBackend((call) => call);
    await cache.fetch('q', backend.load, patient());
    clock.advance(14_999);
    await cache.fetch('q', backend.load, patient());
    await settle();
    assert.equal(backend.calls, 1);
  });
});
