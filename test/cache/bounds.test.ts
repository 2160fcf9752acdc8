import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entryBytes } from '../../src/cache/entry-size.js';
import { FakeBackend, makeCache, metricValue, patient } from './fakes.js';

const EVICTIONS = 'hpa_metrics_adapter_cache_evictions_total';

describe('QueryCache memory bounds', () => {
  it('stays within maxEntries and maxBytes under a flood of 100,000 distinct keys', async () => {
    const maxBytes = 1024 * 1024;
    const { cache, registry } = makeCache({ maxEntries: 1_000, maxBytes });
    const backend = new FakeBackend((call) => [
      { value: call, timestamp: new Date(0), labels: { pod: `web-${call}` } },
    ]);

    // One signal for the whole loop: creating 100,000 AbortControllers would dominate the run time.
    const signal = patient();
    let peakEntries = 0;
    let peakBytes = 0;
    for (let i = 0; i < 100_000; i++) {
      await cache.fetch(`sum(rate(http_requests_total{pod="web-${i}"}[2m]))`, backend.load, signal);
      const { entries, bytes } = cache.stats();
      peakEntries = Math.max(peakEntries, entries);
      peakBytes = Math.max(peakBytes, bytes);
    }

    assert.equal(backend.calls, 100_000);
    assert.equal(peakEntries, 1_000);
    assert.ok(peakBytes <= maxBytes, `${peakBytes} bytes exceeds maxBytes ${maxBytes}`);
    assert.equal(await metricValue(registry, EVICTIONS, { backend: 'prometheus', reason: 'capacity' }), 99_000);
  });

  it('evicts the least recently used entry first', async () => {
    const { cache } = makeCache({ maxEntries: 3 });
    const backend = new FakeBackend((call) => call);
    for (const key of ['a', 'b', 'c']) await cache.fetch(key, backend.load, patient());
    await cache.fetch('a', backend.load, patient());
    await cache.fetch('d', backend.load, patient());
    assert.equal(backend.calls, 4);

    assert.equal(await cache.fetch('a', backend.load, patient()), 1, 'a was used recently and stays');
    assert.equal(backend.calls, 4);
    assert.equal(await cache.fetch('b', backend.load, patient()), 5, 'b was least recently used and was evicted');
  });

  it('keeps the estimated bytes under maxBytes when values are large, holding fewer entries than maxEntries', async () => {
    const valueBytes = 10_000;
    const maxBytes = 50_000;
    const { cache } = makeCache({ maxEntries: 1_000, maxBytes }, { sizeOf: () => valueBytes });
    const backend = new FakeBackend((call) => ({ call }));

    for (let i = 0; i < 100; i++) {
      await cache.fetch(`key-${i}`, backend.load, patient());
      assert.ok(cache.stats().bytes <= maxBytes);
    }
    const perEntry = entryBytes('key-00', valueBytes);
    assert.equal(cache.stats().entries, Math.floor(maxBytes / perEntry));
  });

  it('returns a value larger than maxBytes to its callers without caching it', async () => {
    const { cache, registry } = makeCache({ maxBytes: 1_000 });
    const huge = Array.from({ length: 1_000 }, (_, i) => ({ pod: `web-${i}`, value: i }));
    const backend = new FakeBackend(() => huge);

    assert.equal(await cache.fetch('q', backend.load, patient()), huge);
    assert.equal(await cache.fetch('q', backend.load, patient()), huge);
    assert.equal(backend.calls, 2);
    assert.deepEqual(cache.stats(), { entries: 0, bytes: 0, inflight: 0 });
    assert.equal(await metricValue(registry, EVICTIONS, { backend: 'prometheus', reason: 'oversize' }), 2);
    assert.equal(await metricValue(registry, EVICTIONS, { backend: 'prometheus', reason: 'capacity' }), 0);
  });

  it('drops entries too old even to serve stale when they are next looked up', async () => {
    const { cache, clock, registry } = makeCache({ ttlMs: 10_000, maxStaleMs: 20_000 });
    const backend = new FakeBackend((call) => call);
    await cache.fetch('q', backend.load, patient());
    clock.advance(30_000);
    assert.equal(await cache.fetch('q', backend.load, patient()), 2);
    assert.equal(await metricValue(registry, EVICTIONS, { backend: 'prometheus', reason: 'expired' }), 1);
    assert.equal(await metricValue(registry, EVICTIONS, { backend: 'prometheus', reason: 'capacity' }), 0);
  });
});
