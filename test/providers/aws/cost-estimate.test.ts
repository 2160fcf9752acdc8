import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CACHE_SETTINGS } from '../../../src/cache/config.js';
import { HPA_SYNC_SECONDS, monthlyEstimate, SECONDS_PER_MONTH } from '../../../src/providers/aws/cost.js';
import { FakeBackend, makeCache, patient, settle } from '../../cache/fakes.js';

/**
 * explain's monthly request count is what the real cache makes of a key the HPA polls every 15 s:
 * the cache is driven with a fake clock for a simulated day (each backend read taking 200 ms), and
 * its backend calls are counted against the estimate for one replica and one HPA.
 */
async function backendCallsOfPolledKey(settings: { ttlMs: number; refreshAheadRatio: number }, seconds: number) {
  const { cache, clock } = makeCache(settings);
  const backend = new FakeBackend(() => 42);
  const load = (signal: AbortSignal) => {
    clock.advance(200);
    return backend.load(signal);
  };
  for (let elapsed = 0; elapsed < seconds; elapsed += HPA_SYNC_SECONDS) {
    const polledAt = clock.now();
    await cache.fetch('GetQueueAttributes jobs', load, patient());
    await settle();
    clock.advance(HPA_SYNC_SECONDS * 1000 - (clock.now() - polledAt));
  }
  return backend.calls;
}

const DAY_SECONDS = 24 * 3600;

describe("explain's monthly cost follows what the cache reads", () => {
  for (const cadence of [
    { ...DEFAULT_CACHE_SETTINGS, name: 'the defaults (ttl 20 s, refresh-ahead 0.5): one read per poll' },
    { ttlMs: 30_000, refreshAheadRatio: 0.5, name: 'ttl 30 s, refresh-ahead 0.5' },
    { ttlMs: 60_000, refreshAheadRatio: 0.5, name: 'ttl 60 s, refresh-ahead 0.5' },
    { ttlMs: 60_000, refreshAheadRatio: 0.2, name: 'ttl 60 s, refresh-ahead 0.2' },
    { ttlMs: 15_000, refreshAheadRatio: 0, name: 'ttl 15 s, refresh-ahead off' },
    { ttlMs: 60_000, refreshAheadRatio: 0, name: 'ttl 60 s, refresh-ahead off' },
  ]) {
    it(cadence.name, async () => {
      const calls = await backendCallsOfPolledKey(cadence, DAY_SECONDS);
      const estimate = monthlyEstimate({ sqsRequests: 1, cloudWatchMetrics: 0 }, { ...cadence, replicas: 1 });
      const estimatedPerDay = (estimate.sqsRequests * DAY_SECONDS) / SECONDS_PER_MONTH;
      assert.ok(
        Math.abs(calls - estimatedPerDay) <= estimatedPerDay * 0.05,
        `the cache read the key ${calls} times in a day; explain estimates ${estimatedPerDay}`,
      );
    });
  }

  it('at the defaults one polled key costs one call per poll: 345,600 a month on 2 replicas', () => {
    const estimate = monthlyEstimate(
      { sqsRequests: 1, cloudWatchMetrics: 0 },
      { ...DEFAULT_CACHE_SETTINGS, replicas: 2 },
    );
    assert.equal(estimate.secondsBetweenReads, 15);
    assert.equal(estimate.sqsRequests, 345_600);
  });
});
