import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CacheCaller } from '../../src/cache/query-cache.js';
import { FakeBackend, makeCache, metricValue, patient, settle, stateOf } from './fakes.js';

const REQUESTS = 'hpa_metrics_adapter_cache_requests_total';
/** One load slot, so one held load makes the backend busy; the default bound is maxStale (2 min in TEST_SETTINGS). */
const ONE_SLOT = { ttlMs: 15_000, maxConcurrentLoads: 1 };

/** A cache holding 'old' for key 'q', its one load slot taken by a held load of another key. */
async function busyCacheHoldingQ(settings: Record<string, number> = {}) {
  const made = makeCache({ ...ONE_SLOT, ...settings });
  const backend = new FakeBackend(() => 'old');
  await made.cache.fetch('q', backend.load, patient());
  backend.holds();
  const other = made.cache.fetch('other', backend.load, patient());
  await settle();
  return { ...made, backend, other };
}

describe('QueryCache stale-while-revalidate while the backend is busy', () => {
  it('answers a value expired less than maxStale ago at once, counted apart, and reloads it behind the answer', async () => {
    const { cache, clock, registry, backend } = await busyCacheHoldingQ();
    clock.advance(15_000 + 60_000);

    const answer = cache.fetch('q', backend.load, patient());
    assert.equal(await stateOf(answer), 'fulfilled', 'the caller did not queue behind the busy backend');
    assert.equal(await answer, 'old');
    assert.equal(await metricValue(registry, REQUESTS, { backend: 'prometheus', result: 'stale_while_revalidate' }), 1);
    assert.equal(
      await metricValue(registry, REQUESTS, { backend: 'prometheus', result: 'miss' }),
      1,
      'only the held load',
    );

    backend.answers(() => 'new').release('new');
    await settle();
    await settle();
    assert.equal(backend.calls, 3, 'the held load and one reload of q');
    assert.equal(await cache.fetch('q', backend.load, patient()), 'new');
    assert.equal(await metricValue(registry, REQUESTS, { backend: 'prometheus', result: 'hit' }), 1);
  });

  it('queues no reload once as many loads wait as may run, so the queue stays for callers with nothing cached', async () => {
    const { cache, clock, registry, backend } = await busyCacheHoldingQ();
    const waiting = cache.fetch('nothing-cached', backend.load, patient());
    clock.advance(15_000 + 1_000);
    assert.equal(await cache.fetch('q', backend.load, patient()), 'old');
    assert.equal(await metricValue(registry, REQUESTS, { backend: 'prometheus', result: 'stale_while_revalidate' }), 1);
    backend.answers(() => 'new').release('new');
    assert.equal(await waiting, 'new');
    await settle();
    assert.equal(backend.calls, 3, 'q, the held load and the queued miss: no reload of q was queued');
  });

  it('lets a caller wait for the load once the value expired longer ago than staleWhileRevalidate', async () => {
    const { cache, clock, backend } = await busyCacheHoldingQ({ staleWhileRevalidateMs: 5_000 });
    clock.advance(15_000 + 5_000);
    const answer = cache.fetch('q', backend.load, patient());
    assert.equal(await stateOf(answer), 'pending');
    backend.answers(() => 'new').release('new');
    assert.equal(await answer, 'new');
  });

  it('never serves past the caller’s own stale bound: a failure policy with maxStale 0 waits', async () => {
    const { cache, clock, backend } = await busyCacheHoldingQ();
    clock.advance(15_000 + 1_000);
    const strict: CacheCaller = { ...patient(), stalePolicy: { maxStaleMs: 0 } };
    const answer = cache.fetch('q', backend.load, strict);
    assert.equal(await stateOf(answer), 'pending');
    backend.answers(() => 'new').release('new');
    assert.equal(await answer, 'new');
  });

  it('waits for the load as before while a load slot is free, and when staleWhileRevalidate is 0', async () => {
    const idle = makeCache(ONE_SLOT);
    const backend = new FakeBackend((call) => `v${call}`);
    await idle.cache.fetch('q', backend.load, patient());
    idle.clock.advance(16_000);
    assert.equal(
      await idle.cache.fetch('q', backend.load, patient()),
      'v2',
      'a free slot: the caller gets the new value',
    );

    const off = await busyCacheHoldingQ({ staleWhileRevalidateMs: 0 });
    off.clock.advance(16_000);
    const answer = off.cache.fetch('q', off.backend.load, patient());
    assert.equal(await stateOf(answer), 'pending');
    off.backend.answers(() => 'new').release('new');
    assert.equal(await answer, 'new');
  });
});
