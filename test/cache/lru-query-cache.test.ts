import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import { callerOf, FakeBackend, makeCache, metricValue, patient, settle } from './fakes.js';

const REQUESTS = 'hpa_metrics_adapter_cache_requests_total';
const LOADS = 'hpa_metrics_adapter_cache_backend_loads_total';

describe('QueryCache freshness', () => {
  it('serves a value from the cache until its TTL has passed, then loads it again', async () => {
    const { cache, clock } = makeCache({ ttlMs: 15_000 });
    const backend = new FakeBackend((call) => ({ value: call }));

    assert.deepEqual(await cache.fetch('q', backend.load, patient()), { value: 1 });
    clock.advance(14_999);
    assert.deepEqual(await cache.fetch('q', backend.load, patient()), { value: 1 });
    assert.equal(backend.calls, 1);

    clock.advance(1);
    assert.deepEqual(await cache.fetch('q', backend.load, patient()), { value: 2 });
    assert.equal(backend.calls, 2);
  });

  it('keeps keys apart and returns the stored object itself', async () => {
    const { cache } = makeCache();
    const a = new FakeBackend(() => ({ name: 'a' }));
    const b = new FakeBackend(() => ({ name: 'b' }));

    const first = await cache.fetch('a', a.load, patient());
    assert.deepEqual(await cache.fetch('b', b.load, patient()), { name: 'b' });
    assert.equal(await cache.fetch('a', a.load, patient()), first);
    assert.deepEqual([a.calls, b.calls], [1, 1]);
  });

  it('forgets every entry on clear()', async () => {
    const { cache } = makeCache();
    const backend = new FakeBackend((call) => call);
    await cache.fetch('q', backend.load, patient());
    cache.clear();
    assert.equal(await cache.fetch('q', backend.load, patient()), 2);
  });
});

describe('QueryCache single-flight', () => {
  it('makes exactly one backend call for 1,000 concurrent callers, who all get its value', async () => {
    const { cache, registry } = makeCache();
    const backend = new FakeBackend(() => ({ samples: [1, 2, 3] })).holds();

    const callers = Array.from({ length: 1000 }, () => cache.fetch('q', backend.load, patient()));
    await settle();
    assert.equal(backend.calls, 1);
    backend.release({ samples: [42] });
    const values = await Promise.all(callers);

    assert.equal(backend.calls, 1);
    assert.ok(values.every((value) => value === values[0]));
    assert.deepEqual(values[0], { samples: [42] });
    assert.equal(await metricValue(registry, REQUESTS, { backend: 'prometheus', result: 'miss' }), 1);
    assert.equal(await metricValue(registry, REQUESTS, { backend: 'prometheus', result: 'coalesced' }), 999);
  });

  it('gives every concurrent caller the error of the one failed load', async () => {
    const { cache } = makeCache();
    const backend = new FakeBackend(() => 0).holds();
    const refused = new ApiError('BadRequest', 'prometheus refused the query: parse error');

    const callers = Array.from({ length: 50 }, () => cache.fetch('q', backend.load, patient()));
    await settle();
    backend.releaseWithError(refused);
    const outcomes = await Promise.allSettled(callers);

    assert.equal(backend.calls, 1);
    for (const outcome of outcomes) assert.deepEqual(outcome, { status: 'rejected', reason: refused });
  });

  it('rejects only the caller whose signal aborts; the shared load goes on for the others', async () => {
    const { cache } = makeCache();
    const backend = new FakeBackend(() => 0).holds();
    const impatient = new AbortController();

    const leaving = cache.fetch('q', backend.load, callerOf(impatient.signal));
    const staying = cache.fetch('q', backend.load, patient());
    await settle();
    impatient.abort(new Error('client went away'));

    await assert.rejects(leaving, { message: 'client went away' });
    assert.equal(backend.signals[0]?.aborted, false);
    backend.release(7);
    assert.equal(await staying, 7);
    assert.equal(backend.calls, 1);
  });

  it('aborts the load once every caller has left, and the next caller starts a new one', async () => {
    const { cache, registry } = makeCache();
    const backend = new FakeBackend(() => 0).holds();
    const first = new AbortController();
    const second = new AbortController();

    const callers = [
      cache.fetch('q', backend.load, callerOf(first.signal)),
      cache.fetch('q', backend.load, callerOf(second.signal)),
    ];
    await settle();
    first.abort();
    assert.equal(backend.signals[0]?.aborted, false);
    second.abort();
    await Promise.allSettled(callers);
    assert.equal(backend.signals[0]?.aborted, true);
    assert.equal(cache.stats().inflight, 0);

    backend.answers(() => 9);
    assert.equal(await cache.fetch('q', backend.load, patient()), 9);
    assert.equal(backend.calls, 2);
    backend.release(1);
    await settle();
    assert.equal(await cache.fetch('q', backend.load, patient()), 9, 'the abandoned load must not overwrite the entry');
    assert.equal(await metricValue(registry, LOADS, { backend: 'prometheus', outcome: 'aborted' }), 1);
  });

  it('removes its abort listener from the caller signal once answered', async () => {
    const { cache } = makeCache();
    const backend = new FakeBackend(() => 0).holds();
    const signal = new AbortController().signal;
    const answer = cache.fetch('q', backend.load, callerOf(signal));
    await settle();
    assert.equal(getEventListeners(signal, 'abort').length, 1);
    backend.release(1);
    await answer;
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });

  it('rejects a caller whose signal is already aborted without calling the backend', async () => {
    const { cache } = makeCache();
    const backend = new FakeBackend(() => 0);
    const gone = AbortSignal.abort(new Error('already gone'));
    await assert.rejects(cache.fetch('q', backend.load, callerOf(gone)), { message: 'already gone' });
    assert.equal(backend.calls, 0);
  });
});

describe('QueryCache stale-on-error', () => {
  const down = ApiError.unavailable('prometheus query failed: connect ECONNREFUSED 127.0.0.1:9090');

  it('serves the last value while it is younger than TTL + maxStale, and counts it', async () => {
    const { cache, clock, registry } = makeCache({ ttlMs: 15_000, maxStaleMs: 120_000 });
    const backend = new FakeBackend(() => ({ value: 'last good' }));
    await cache.fetch('q', backend.load, patient());

    backend.fails(down);
    clock.advance(15_000 + 119_999);
    assert.deepEqual(await cache.fetch('q', backend.load, patient()), { value: 'last good' });
    assert.equal(backend.calls, 2);
    assert.equal(await metricValue(registry, REQUESTS, { backend: 'prometheus', result: 'stale' }), 1);
    assert.equal(await metricValue(registry, LOADS, { backend: 'prometheus', outcome: 'error' }), 1);
  });

  it('answers 503 naming the backend, the window it served stale values in (ttl + maxStale) and the last error once the value is older than that', async () => {
    const { cache, clock } = makeCache({ ttlMs: 15_000, maxStaleMs: 120_000 });
    const backend = new FakeBackend(() => ({ value: 'last good' }));
    await cache.fetch('q', backend.load, patient());

    backend.fails(down);
    clock.advance(15_000 + 120_000);
    await assert.rejects(cache.fetch('q', backend.load, patient()), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.reason, 'ServiceUnavailable');
      assert.equal(error.code, 503);
      assert.equal(
        error.message,
        'prometheus backend unavailable and no value younger than 2m15s is cached: prometheus query failed: connect ECONNREFUSED 127.0.0.1:9090',
      );
      return true;
    });
  });

  it('judges the age of the last value when the load fails, not when the request arrived', async () => {
    const { cache, clock } = makeCache({ ttlMs: 15_000, maxStaleMs: 120_000 });
    const backend = new FakeBackend(() => 'last good');
    await cache.fetch('q', backend.load, patient());

    backend.holds();
    clock.advance(134_999);
    const answer = cache.fetch('q', backend.load, patient());
    await settle();
    clock.advance(1);
    backend.releaseWithError(down);
    await assert.rejects(answer, { reason: 'ServiceUnavailable' });
  });

  it('recovers with a fresh value when the backend answers again', async () => {
    const { cache, clock } = makeCache();
    const backend = new FakeBackend(() => 'old');
    await cache.fetch('q', backend.load, patient());
    backend.fails(down);
    clock.advance(200_000);
    await assert.rejects(cache.fetch('q', backend.load, patient()), { reason: 'ServiceUnavailable' });

    backend.answers(() => 'new');
    assert.equal(await cache.fetch('q', backend.load, patient()), 'new');
  });

  it('after a failed refresh, answers at once from the last value instead of waiting on the backend again', async () => {
    const { cache, clock } = makeCache({ ttlMs: 15_000, maxStaleMs: 120_000 });
    const backend = new FakeBackend(() => 'last good');
    await cache.fetch('q', backend.load, patient());
    backend.fails(down);
    clock.advance(16_000);
    assert.equal(await cache.fetch('q', backend.load, patient()), 'last good');
    assert.equal(backend.calls, 2);

    backend.holds();
    clock.advance(1_000);
    assert.equal(await cache.fetch('q', backend.load, patient()), 'last good', 'no wait while the backend just failed');
    assert.equal(backend.calls, 2, 'no retry before the retry interval');

    clock.advance(4_000);
    assert.equal(await cache.fetch('q', backend.load, patient()), 'last good', 'the retry runs in the background');
    assert.equal(await cache.fetch('q', backend.load, patient()), 'last good');
    assert.equal(backend.calls, 3, 'one background retry, however many requests');

    backend.release('recovered');
    await settle();
    assert.equal(await cache.fetch('q', backend.load, patient()), 'recovered');
  });

  it('passes errors that are not about availability through unchanged when nothing is cached', async () => {
    const { cache } = makeCache();
    const refused = ApiError.badRequest('prometheus refused the query: bad_data');
    const backend = new FakeBackend(() => 0).fails(refused);
    await assert.rejects(cache.fetch('q', backend.load, patient()), (error) => error === refused);
  });
});

describe('QueryCache negative caching', () => {
  it('remembers a NotFound for negativeTtl, then asks the backend again', async () => {
    const { cache, clock, registry } = makeCache({ negativeTtlMs: 5_000 });
    const noData = ApiError.notFound('no samples for http_requests on pod web-1');
    const backend = new FakeBackend(() => 0).fails(noData);

    await assert.rejects(cache.fetch('q', backend.load, patient()), (error) => error === noData);
    clock.advance(4_999);
    await assert.rejects(cache.fetch('q', backend.load, patient()), (error) => error === noData);
    assert.equal(backend.calls, 1);
    assert.equal(await metricValue(registry, REQUESTS, { backend: 'prometheus', result: 'negative_hit' }), 1);

    clock.advance(1);
    backend.answers(() => 5);
    assert.equal(await cache.fetch('q', backend.load, patient()), 5);
    assert.equal(backend.calls, 2);
  });

  it('charges a remembered NotFound for the error object and stack trace it keeps, not only its message', async () => {
    const { cache } = makeCache({ negativeTtlMs: 5_000 });
    const noData = ApiError.notFound('no samples for http_requests on pod web-1');
    await assert.rejects(cache.fetch('q', new FakeBackend(() => 0).fails(noData).load, patient()));
    const { entries, bytes } = cache.stats();
    assert.equal(entries, 1);
    // About 880 heap bytes per kept ApiError measured on Node 20; twice the message was 84.
    assert.ok(bytes >= 800 + 2 * noData.message.length, `charged ${bytes} bytes`);
  });

  it('does not serve a stale value over a NotFound: no data means the series is gone', async () => {
    const { cache, clock } = makeCache();
    const backend = new FakeBackend(() => 1);
    await cache.fetch('q', backend.load, patient());
    clock.advance(16_000);
    backend.fails(ApiError.notFound('no data'));
    await assert.rejects(cache.fetch('q', backend.load, patient()), { reason: 'NotFound' });
  });
});

describe('QueryCache close', () => {
  it('fails the callers still waiting and every later fetch with a 503', async () => {
    const { cache } = makeCache();
    const backend = new FakeBackend(() => 0).holds();
    const waiting = cache.fetch('q', backend.load, patient());
    await settle();

    cache.close();
    await assert.rejects(waiting, { reason: 'ServiceUnavailable', message: 'prometheus backend is shutting down' });
    assert.equal(backend.signals[0]?.aborted, true);
    await assert.rejects(cache.fetch('q', backend.load, patient()), { reason: 'ServiceUnavailable' });
  });
});
