import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { ApiError } from '../../src/api/errors.js';
import { FakeBackend, histogram, makeCache, metricValue, patient, settle } from './fakes.js';

const REQUESTS = 'hpa_metrics_adapter_cache_requests_total';
const LOADS = 'hpa_metrics_adapter_cache_backend_loads_total';
const ENTRIES = 'hpa_metrics_adapter_cache_entries';
const BYTES = 'hpa_metrics_adapter_cache_bytes';
const INFLIGHT = 'hpa_metrics_adapter_cache_inflight_loads';
const AGE = 'hpa_metrics_adapter_cache_served_value_age_seconds';
const LOAD_DURATION = 'hpa_metrics_adapter_cache_backend_load_duration_seconds';

describe('cache metrics', () => {
  it('count every way a request is answered after a scripted sequence', async () => {
    const { cache, clock, registry } = makeCache({ ttlMs: 15_000, maxStaleMs: 120_000, negativeTtlMs: 5_000 });
    const prometheus = { backend: 'prometheus' };
    const backend = new FakeBackend((call) => `value ${call}`);

    await cache.fetch('a', backend.load, patient());
    clock.advance(10_000);
    await cache.fetch('a', backend.load, patient());

    backend.holds();
    const concurrent = [1, 2, 3].map(() => cache.fetch('b', backend.load, patient()));
    await settle();
    assert.equal(await metricValue(registry, INFLIGHT, prometheus), 1);
    backend.release('b');
    await Promise.all(concurrent);

    backend.fails(ApiError.notFound('no data'));
    await assert.rejects(cache.fetch('n', backend.load, patient()));
    await assert.rejects(cache.fetch('n', backend.load, patient()));

    clock.advance(20_000);
    backend.fails(ApiError.unavailable('connect ECONNREFUSED'));
    assert.equal(await cache.fetch('a', backend.load, patient()), 'value 1');

    const requests = async (result: string) => metricValue(registry, REQUESTS, { ...prometheus, result });
    assert.deepEqual(
      {
        hit: await requests('hit'),
        miss: await requests('miss'),
        coalesced: await requests('coalesced'),
        negative_hit: await requests('negative_hit'),
        stale: await requests('stale'),
      },
      { hit: 1, miss: 3, coalesced: 2, negative_hit: 1, stale: 1 },
    );
    const loads = async (outcome: string) => metricValue(registry, LOADS, { ...prometheus, outcome });
    assert.deepEqual(
      { success: await loads('success'), not_found: await loads('not_found'), error: await loads('error') },
      { success: 2, not_found: 1, error: 1 },
    );
    assert.equal((await histogram(registry, LOAD_DURATION, prometheus)).count, 4);
    // Served values: a at 0 s and 10 s, b three times at 0 s, a stale at 30 s.
    assert.deepEqual(await histogram(registry, AGE, prometheus), { count: 6, sum: 40 });
    assert.equal(await metricValue(registry, ENTRIES, prometheus), 3);
    assert.equal(await metricValue(registry, BYTES, prometheus), cache.stats().bytes);
    assert.ok(cache.stats().bytes > 0);
    assert.equal(await metricValue(registry, INFLIGHT, prometheus), 0);
  });

  it('counts a hit and its age without a prom-client call; the scrape reports them', async (t) => {
    // prom-client's metrics take inc() and observe() from these undeclared methods when they are made.
    const counters = Counter.prototype as unknown as { incWithoutExemplar(...args: unknown[]): void };
    const histograms = Histogram.prototype as unknown as { observeWithoutExemplar(...args: unknown[]): void };
    const inc = t.mock.method(counters, 'incWithoutExemplar');
    const observe = t.mock.method(histograms, 'observeWithoutExemplar');
    const { cache, registry } = makeCache({ ttlMs: 15_000 }, { backend: 'prometheus' });
    const backend = new FakeBackend((call) => call);
    await cache.fetch('up', backend.load, patient());
    const [incsBefore, observesBefore] = [inc.mock.callCount(), observe.mock.callCount()];
    for (let i = 0; i < 5; i++) await cache.fetch('up', backend.load, patient());
    assert.equal(inc.mock.callCount() - incsBefore, 0, 'no inc() for five hits');
    assert.equal(observe.mock.callCount() - observesBefore, 0, 'no observe() for five hits');
    assert.equal(await metricValue(registry, REQUESTS, { backend: 'prometheus', result: 'hit' }), 5);
    assert.equal((await histogram(registry, AGE, { backend: 'prometheus' })).count, 6);
  });

  it('share one registry between backends, each series labelled with its backend', async () => {
    const registry = new Registry();
    const prometheus = makeCache({}, { registry, backend: 'prometheus' }).cache;
    const sqs = makeCache({}, { registry, backend: 'sqs' }).cache;
    const backend = new FakeBackend((call) => call);
    assert.match(
      await registry.getSingleMetricAsString(REQUESTS),
      /hpa_metrics_adapter_cache_requests_total\{backend="sqs",result="stale"\} 0/,
      'every series exists from the start',
    );

    await prometheus.fetch('up', backend.load, patient());
    await sqs.fetch('https://sqs.eu-west-1.amazonaws.com/1/jobs', backend.load, patient());
    await sqs.fetch('https://sqs.eu-west-1.amazonaws.com/1/jobs', backend.load, patient());

    assert.equal(await metricValue(registry, REQUESTS, { backend: 'sqs', result: 'hit' }), 1);
    assert.equal(await metricValue(registry, REQUESTS, { backend: 'prometheus', result: 'hit' }), 0);
    assert.equal(await metricValue(registry, ENTRIES, { backend: 'sqs' }), 1);
    const text = await registry.getSingleMetricAsString(REQUESTS);
    assert.match(text, /hpa_metrics_adapter_cache_requests_total\{backend="sqs",result="hit"\} 1/);
    assert.match(text, /hpa_metrics_adapter_cache_requests_total\{backend="prometheus",result="miss"\} 1/);

    prometheus.close();
    const entries = await registry.getSingleMetric(ENTRIES)?.get();
    assert.deepEqual(
      entries?.values.map((sample) => [sample.labels.backend, sample.value]),
      [['sqs', 1]],
      'a closed cache is no longer reported',
    );
  });
});

describe('a closed cache in /metrics', () => {
  const series = async (registry: Registry, name: string) =>
    ((await registry.getSingleMetric(name)?.get())?.values ?? []).map((v) => v.labels.limiter);

  it("takes its limiter's running and queued series out, unless another open cache has its label", async () => {
    const registry = new Registry();
    const gone = makeCache({}, { registry, backend: 'definitions:prometheus:30000ms' }).cache;
    const reloaded = [1, 2].map(() => makeCache({}, { registry, backend: 'prometheus' }).cache);
    const backend = new FakeBackend((call) => `value ${call}`);
    for (const cache of [gone, ...reloaded]) await cache.fetch('a', backend.load, patient());
    for (const name of ['hpa_metrics_adapter_limiter_running', 'hpa_metrics_adapter_limiter_queued']) {
      assert.deepEqual((await series(registry, name)).sort(), ['definitions:prometheus:30000ms', 'prometheus']);
    }
    gone.close();
    reloaded[0]?.close();
    for (const name of ['hpa_metrics_adapter_limiter_running', 'hpa_metrics_adapter_limiter_queued']) {
      assert.deepEqual(await series(registry, name), ['prometheus'], name);
    }
    reloaded[1]?.close();
  });
});
