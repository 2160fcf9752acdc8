import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import type { CacheCaller, CacheRefresh } from '../../src/cache/query-cache.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import { FakeBackend, makeCache, metricValue, patient, START, settle } from './fakes.js';

const SETTINGS = { ttlMs: 20_000, refreshAheadRatio: 0.5, maxStaleMs: 60_000 };

function refresher(leadMs = 1_000): CacheCaller & { refresh: CacheRefresh } {
  return { deadline: deadlineOf(new AbortController().signal), refresh: { leadMs, expiresAt: undefined } };
}

describe('QueryCache background refresher calls (CacheRefresh)', () => {
  it('answers a value that stays fresh past the lead from the cache, and says when it expires', async () => {
    const { cache, clock, registry } = makeCache(SETTINGS);
    const backend = new FakeBackend((call) => call);
    await cache.fetch('q', backend.load, patient());
    clock.advance(5_000);
    const call = refresher();
    assert.equal(await cache.fetch('q', backend.load, call), 1);
    assert.equal(backend.calls, 1, 'no load while the value stays fresh past the lead');
    assert.equal(call.refresh.expiresAt, START + 20_000);
    assert.equal(await metricValue(registry, 'hpa_metrics_adapter_cache_requests_total', { result: 'refresh' }), 1);
    assert.equal(await metricValue(registry, 'hpa_metrics_adapter_cache_requests_total', { result: 'hit' }), 0);
  });

  it('loads a value that expires within the lead, or is absent, and waits for the load', async () => {
    const { cache, clock } = makeCache(SETTINGS);
    const backend = new FakeBackend((call) => call);
    const first = refresher();
    assert.equal(await cache.fetch('q', backend.load, first), 1, 'an absent key is loaded');
    assert.equal(first.refresh.expiresAt, START + 20_000);
    clock.advance(19_500);
    const second = refresher();
    assert.equal(await cache.fetch('q', backend.load, second), 2, 'the call waited for the new value');
    assert.equal(second.refresh.expiresAt, START + 19_500 + 20_000);
    assert.equal(backend.calls, 2);
  });

  it('leaves a value it loaded to the refresher: HPA hits in the refresh-ahead part of the TTL load nothing', async () => {
    const { cache, clock } = makeCache(SETTINGS);
    const backend = new FakeBackend((call) => call);
    await cache.fetch('q', backend.load, refresher());
    clock.advance(15_000);
    assert.equal(await cache.fetch('q', backend.load, patient()), 1, 'a hit');
    await settle();
    assert.equal(backend.calls, 1, 'the refresher comes back for it: no refresh-ahead load');

    await cache.fetch('seen', backend.load, patient());
    await cache.fetch('seen', backend.load, refresher());
    clock.advance(15_000);
    await cache.fetch('seen', backend.load, patient());
    await settle();
    assert.equal(backend.calls, 2, 'nor one a refresher found fresh: it comes back for it');

    await cache.fetch('other', backend.load, patient());
    clock.advance(15_000);
    await cache.fetch('other', backend.load, patient());
    await settle();
    assert.equal(backend.calls, 4, 'a key no refresher asked for is refreshed ahead by its hits, as before');
  });

  it('rejects when its load fails; HPA requests then get the last value within their stale bound', async () => {
    const { cache, clock } = makeCache(SETTINGS);
    const backend = new FakeBackend(() => 'good');
    await cache.fetch('q', backend.load, refresher());
    clock.advance(19_500);
    backend.fails(ApiError.unavailable('prometheus down'));
    await assert.rejects(cache.fetch('q', backend.load, refresher()), /prometheus down/);
    clock.advance(5_000);
    assert.equal(await cache.fetch('q', backend.load, patient()), 'good', 'the last good value, past its TTL');
    const strict: CacheCaller = { ...patient(), stalePolicy: { maxStaleMs: 0 } };
    await assert.rejects(cache.fetch('q', backend.load, strict), /unavailable/, 'a policy that takes no stale value');
  });
});
