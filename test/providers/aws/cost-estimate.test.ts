import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { BUILTIN_RESOURCES } from '../../../src/api/builtin-resources.js';
import { parseSelector } from '../../../src/api/selector.js';
import { DEFAULT_CACHE_SETTINGS } from '../../../src/cache/config.js';
import { MIN_REFRESH_LEAD_MS } from '../../../src/cache/query-cache.js';
import { deadlineOf } from '../../../src/lib/deadline.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { HPA_SYNC_SECONDS, monthlyEstimate, SECONDS_PER_MONTH } from '../../../src/providers/aws/cost.js';
import type { ExternalMetricsProvider } from '../../../src/providers/provider.js';
import { HpaRefresher } from '../../../src/refresh/hpa-refresher.js';
import { FakeBackend, makeCache, patient, settle } from '../../cache/fakes.js';
import { unaskedCustomProvider } from '../../support/provider-stubs.js';

/**
 * explain's monthly request count is what the real cache makes of a key the HPA polls every 15 s:
 * the cache is driven with a fake clock for three simulated hours (each backend read taking 200 ms),
 * and its backend calls are counted against the estimate for one replica and one HPA. The pattern
 * repeats every few polls, so a longer run changes the count by its first read only (a simulated
 * day, as before, cost each Node 13 CPU seconds for the same outcome).
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

/**
 * The same key read by one HPA, kept fresh by the real HpaRefresher (its timer and the cache's
 * clock moved by hand, one tick at a time), and polled every 15 s or not at all.
 */
async function backendCallsWithHpaRefresh(
  settings: { ttlMs: number; refreshAheadRatio: number },
  seconds: number,
  polled: boolean,
) {
  const { cache, clock } = makeCache(settings);
  const backend = new FakeBackend(() => [{ labels: {}, value: 42, timestamp: new Date(clock.now()) }]);
  const load = (signal: AbortSignal) => {
    clock.advance(200);
    return backend.load(signal);
  };
  const external: ExternalMetricsProvider = {
    getExternalMetric: (request) => cache.fetch('GetQueueAttributes jobs', load, request),
    listExternalMetrics: () => [{ metric: 'sqs-queue-length' }],
    servesExternal: () => true,
  };
  const hpa = {
    namespace: 'default',
    name: 'worker',
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker' },
    metrics: [
      {
        type: 'External' as const,
        metric: { name: 'sqs-queue-length', selector: { matchLabels: { 'queue-name': 'jobs' } } },
      },
    ],
  };
  let due: (() => void) | undefined;
  const tickMs = 250;
  const refresher = new HpaRefresher({
    hpas: { hpas: () => [hpa], subscribe: () => () => undefined, health: () => 'serving' },
    provider: { ...external, ...unaskedCustomProvider() },
    resources: BUILTIN_RESOURCES,
    logger: silentLogger(),
    registry: new Registry(),
    tickMs,
    now: clock.now,
    timers: {
      set: (run) => {
        due = run;
        return 1;
      },
      clear: () => {
        due = undefined;
      },
    },
  });
  refresher.start();
  let nextPoll = clock.now();
  const end = clock.now() + seconds * 1000;
  while (clock.now() < end) {
    if (polled && clock.now() >= nextPoll) {
      const request = {
        namespace: 'default',
        metric: 'sqs-queue-length',
        metricSelector: parseSelector('queue-name=jobs'),
      };
      await cache.fetch('GetQueueAttributes jobs', load, {
        ...request,
        deadline: deadlineOf(new AbortController().signal),
      });
      nextPoll += HPA_SYNC_SECONDS * 1000;
    }
    clock.advance(tickMs);
    const run = due;
    due = undefined;
    run?.();
    for (let i = 0; i < 5; i++) await settle();
  }
  await refresher.close();
  return backend.calls;
}

const HOUR_SECONDS = 3600;

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
      const calls = await backendCallsOfPolledKey(cadence, 3 * HOUR_SECONDS);
      const estimate = monthlyEstimate({ sqsRequests: 1, cloudWatchMetrics: 0 }, { ...cadence, replicas: 1 });
      const estimated = (estimate.sqsRequests * 3 * HOUR_SECONDS) / SECONDS_PER_MONTH;
      assert.ok(
        Math.abs(calls - estimated) <= estimated * 0.05,
        `the cache read the key ${calls} times in 3 hours; explain estimates ${estimated}`,
      );
    });
  }

  for (const polled of [true, false]) {
    it(`with HPA-aware refresh, each replica reads a key once per TTL less the lead, ${polled ? 'polled every 15 s' : 'never polled'}`, async () => {
      const calls = await backendCallsWithHpaRefresh(DEFAULT_CACHE_SETTINGS, HOUR_SECONDS, polled);
      const cadence = { ...DEFAULT_CACHE_SETTINGS, replicas: 1, hpaRefreshLeadMs: MIN_REFRESH_LEAD_MS };
      const estimate = monthlyEstimate({ sqsRequests: 1, cloudWatchMetrics: 0 }, cadence);
      const estimated = (estimate.sqsRequests * HOUR_SECONDS) / SECONDS_PER_MONTH;
      assert.ok(
        Math.abs(calls - estimated) <= estimated * 0.05,
        `the refresher read the key ${calls} times in an hour; explain estimates ${estimated}`,
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
