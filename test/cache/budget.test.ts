import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { CacheBudget } from '../../src/cache/cache-budget.js';
import { entryBytes } from '../../src/cache/entry-size.js';
import { parseFlags } from '../../src/cli/flags.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startBackends } from '../../src/startup/backends.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { FakeBackend, FakeClock, makeCache, metricValue, patient } from './fakes.js';

const EVICTIONS = 'hpa_metrics_adapter_cache_evictions_total';
const VALUE_BYTES = 10_000;
/**
 * What one entry of these tests is charged: a key of six characters such as `key-00` and a value
 * of VALUE_BYTES (by sizeOf; the values are numbers, which the cache marks with no identity).
 */
const ENTRY = entryBytes('key-00', VALUE_BYTES);

/** Two backends' caches on one budget of `entries` whole entries, each value VALUE_BYTES. */
function twoBackends(entries: number, settings: { maxBytes?: number } = {}) {
  const budget = new CacheBudget(entries * ENTRY);
  const registry = new Registry();
  const clock = new FakeClock();
  const options = { budget, registry, clock, sizeOf: () => VALUE_BYTES };
  const prometheus = makeCache(settings, { ...options, backend: 'prometheus' }).cache;
  const sqs = makeCache({}, { ...options, backend: 'sqs' }).cache;
  const backend = new FakeBackend((call) => call);
  return { budget, registry, prometheus, sqs, backend };
}

describe('one cache budget for every backend', () => {
  it('keeps the bytes of two backends together within the budget, each filled past it', async () => {
    const { budget, prometheus, sqs } = twoBackends(10);
    const backend = new FakeBackend((call) => call);
    for (let i = 0; i < 30; i++) {
      await prometheus.fetch(`key-${String(i).padStart(2, '0')}`, backend.load, patient());
      await sqs.fetch(`key-${String(i).padStart(2, '0')}`, backend.load, patient());
      const sum = prometheus.stats().bytes + sqs.stats().bytes;
      assert.ok(sum <= budget.maxBytes, `${sum} bytes held by both caches, budget ${budget.maxBytes}`);
      assert.equal(sum, budget.bytes, 'the budget counts what the caches hold');
    }
    assert.equal(prometheus.stats().entries + sqs.stats().entries, 10);
  });

  it('evicts the least recently used entry of any backend first', async () => {
    const { registry, prometheus, sqs, backend } = twoBackends(4);
    for (const key of ['key-p1', 'key-p2']) await prometheus.fetch(key, backend.load, patient());
    for (const key of ['key-s1', 'key-s2']) await sqs.fetch(key, backend.load, patient());
    assert.equal(backend.calls, 4);
    // key-p1 is used again: key-p2 is now the least recently used of all four.
    await prometheus.fetch('key-p1', backend.load, patient());
    await sqs.fetch('key-s3', backend.load, patient());
    assert.equal(backend.calls, 5);

    await prometheus.fetch('key-p1', backend.load, patient());
    await sqs.fetch('key-s1', backend.load, patient());
    await sqs.fetch('key-s2', backend.load, patient());
    assert.equal(backend.calls, 5, 'key-p1, key-s1 and key-s2 are still cached');
    assert.equal(await metricValue(registry, EVICTIONS, { backend: 'prometheus', reason: 'capacity' }), 1);
    assert.equal(await metricValue(registry, EVICTIONS, { backend: 'sqs', reason: 'capacity' }), 0);
    await prometheus.fetch('key-p2', backend.load, patient());
    assert.equal(backend.calls, 6, 'key-p2, evicted for sqs, is loaded again');
  });

  it('refuses a single value larger than the budget, naming cache.maxBytes, and returns it uncached', async () => {
    const budget = new CacheBudget(ENTRY - 1);
    const registry = new Registry();
    const { logger, lines } = capturingLogger();
    // The backend's own cap is larger: the budget is the bound that refuses it.
    const { cache } = makeCache({ maxBytes: 10 * ENTRY }, { budget, registry, logger, sizeOf: () => VALUE_BYTES });
    const backend = new FakeBackend((call) => call);

    assert.equal(await cache.fetch('key-00', backend.load, patient()), 1);
    assert.equal(await cache.fetch('key-00', backend.load, patient()), 2);
    assert.deepEqual(cache.stats(), { entries: 0, bytes: 0, inflight: 0 });
    assert.equal(budget.bytes, 0);
    assert.equal(await metricValue(registry, EVICTIONS, { backend: 'prometheus', reason: 'oversize' }), 2);
    const warning = lines.find((line) => line.bytes === ENTRY);
    assert.ok(warning, JSON.stringify(lines));
    assert.equal(warning.maxBytes, ENTRY - 1);
    assert.match(String(warning.msg), /cache\.maxBytes/);
  });

  it('names the backend cap when that is the smaller bound', async () => {
    const { logger, lines } = capturingLogger();
    const { cache } = makeCache({ maxBytes: ENTRY - 1 }, { logger, sizeOf: () => VALUE_BYTES });
    await cache.fetch('key-00', new FakeBackend(() => 1).load, patient());
    assert.equal(cache.stats().entries, 0);
    assert.match(String(lines[0]?.msg), /the prometheus cache's maxBytes/);
  });

  it('applies a smaller budget at once, evicting the least recently used entries of every backend', async () => {
    const { budget, registry, prometheus, sqs, backend } = twoBackends(6);
    for (const key of ['key-p1', 'key-p2', 'key-p3']) await prometheus.fetch(key, backend.load, patient());
    for (const key of ['key-s1', 'key-s2', 'key-s3']) await sqs.fetch(key, backend.load, patient());
    await prometheus.fetch('key-p1', backend.load, patient());
    assert.equal(backend.calls, 6);

    budget.resize(3 * ENTRY);
    assert.ok(budget.bytes <= 3 * ENTRY);
    assert.equal(prometheus.stats().entries + sqs.stats().entries, 3);
    assert.equal(prometheus.stats().bytes + sqs.stats().bytes, budget.bytes);
    // Kept: the three used last (key-s2, key-s3, key-p1).
    for (const key of ['key-s2', 'key-s3']) await sqs.fetch(key, backend.load, patient());
    await prometheus.fetch('key-p1', backend.load, patient());
    assert.equal(backend.calls, 6);
    assert.equal(await metricValue(registry, EVICTIONS, { backend: 'prometheus', reason: 'capacity' }), 2);
    assert.equal(await metricValue(registry, EVICTIONS, { backend: 'sqs', reason: 'capacity' }), 1);
    assert.equal(await metricValue(registry, 'hpa_metrics_adapter_cache_budget_bytes', {}), 0, 'no registry given');

    budget.resize(8 * ENTRY);
    for (const key of ['key-p4', 'key-p5', 'key-p6', 'key-p7', 'key-p8']) {
      await prometheus.fetch(key, backend.load, patient());
    }
    assert.equal(prometheus.stats().entries + sqs.stats().entries, 8, 'a larger budget holds more');
  });

  it('keeps a backend within its own maxBytes inside the budget', async () => {
    const { budget, prometheus, sqs, backend } = twoBackends(10, { maxBytes: 2 * ENTRY });
    for (let i = 0; i < 5; i++) await prometheus.fetch(`key-p${i}`, backend.load, patient());
    for (let i = 0; i < 5; i++) await sqs.fetch(`key-s${i}`, backend.load, patient());
    assert.equal(prometheus.stats().entries, 2);
    assert.equal(sqs.stats().entries, 5);
    assert.equal(budget.bytes, prometheus.stats().bytes + sqs.stats().bytes);
  });

  it('releases the bytes of a closed cache', async () => {
    const { budget, prometheus, sqs, backend } = twoBackends(10);
    for (let i = 0; i < 3; i++) await prometheus.fetch(`key-p${i}`, backend.load, patient());
    for (let i = 0; i < 2; i++) await sqs.fetch(`key-s${i}`, backend.load, patient());
    prometheus.close();
    assert.equal(budget.bytes, sqs.stats().bytes);
    assert.equal(sqs.stats().entries, 2);
  });
});

describe('the cache budget on reload', () => {
  const BUDGET = 'hpa_metrics_adapter_cache_budget_bytes';
  const config = (cache: string) => parseConfig(`static:\n  external: []\n${cache}`, 'c.yaml');

  it('applies a changed cache.maxBytes, and keeps it through a refused reload', async () => {
    const registry = new Registry();
    const running = await startBackends(config(''), { flags: parseFlags([]), logger: silentLogger(), registry });
    try {
      assert.equal(await metricValue(registry, BUDGET, {}), 96 * 1024 * 1024, 'the default budget');
      await running.apply(config('cache:\n  maxBytes: 32Mi\n'));
      assert.equal(await metricValue(registry, BUDGET, {}), 32 * 1024 * 1024);
      await assert.rejects(running.apply(parseConfig('cache:\n  maxBytes: 8Mi\n', 'no-backend.yaml')));
      assert.equal(await metricValue(registry, BUDGET, {}), 32 * 1024 * 1024, 'a refused reload changes nothing');
    } finally {
      await running.close();
    }
  });

  it("warns at load when a cache cap cannot bind, a Prometheus server's own included", async () => {
    const { logger, lines } = capturingLogger();
    const yaml = `
prometheus:
  servers:
    - { name: thanos, url: 'http://127.0.0.1:9', cache: { maxBytes: 64Mi } }
  rules: []
cache:
  maxBytes: 48Mi
  sqs: { maxBytes: 64Mi }
`;
    const running = await startBackends(parseConfig(yaml, 'c.yaml'), {
      flags: parseFlags([]),
      logger,
      registry: new Registry(),
    });
    try {
      const warnings = lines.map((line) => String(line.msg)).filter((msg) => msg.includes('the budget bounds it'));
      assert.deepEqual(warnings, [
        "the prometheus:thanos cache's own maxBytes (67108864 bytes) is not below the budget every backend shares, cache.maxBytes (50331648 bytes): the budget bounds it",
        'cache.sqs.maxBytes (67108864 bytes) is not below the budget every backend shares, cache.maxBytes (50331648 bytes): the budget bounds it',
      ]);
    } finally {
      await running.close();
    }
  });
});
