import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { BUILTIN_RESOURCES } from '../../../src/api/builtin-resources.js';
import { parseConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { Series } from '../../../src/providers/prometheus/announced-metrics.js';
import { compileRules } from '../../../src/providers/prometheus/backend.js';
import type { PrometheusClient } from '../../../src/providers/prometheus/client.js';
import { prometheusMetricsFor } from '../../../src/providers/prometheus/metrics.js';
import { ruleSources } from '../../../src/providers/prometheus/rule-sources.js';
import { createSeriesDiscovery, type SeriesDiscovery } from '../../../src/providers/prometheus/series-discovery.js';
import { seriesHoldMs } from '../../../src/providers/prometheus/series-discovery-hold.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import { WAITING_RULES } from './fixtures.js';

const MAX_AGE_MS = 60_000;
const JOBS: Series = { __name__: 'jobs_waiting', queue: 'batch' };
const BUILDS: Series = { __name__: 'builds_waiting', queue: 'ci' };
const LAG: Series = { __name__: 'queue_lag', namespace: 'default', pod: 'worker-1' };

/** A Prometheus whose /api/v1/series answers what the test last said, at a clock the test moves. */
function scriptedPrometheus() {
  let listed: Series[] | Error = [];
  let nowMs = Date.parse('2026-12-07T12:00:00Z');
  /** How many seconds back each call looked. */
  const windows: number[] = [];
  const client: PrometheusClient = {
    url: 'http://prometheus.test',
    query: () => Promise.reject(new Error('this test runs no queries')),
    async series(match, start, end) {
      windows.push((end.getTime() - start.getTime()) / 1000);
      if (listed instanceof Error) throw listed;
      return listed.filter((s) => match.includes(`"${s.__name__}"`));
    },
    close() {},
  };
  return {
    client,
    windows,
    now: () => new Date(nowMs),
    /** Moves the clock on and says what the next listing finds. */
    at(secondsLater: number, series: Series[] | Error) {
      nowMs += secondsLater * 1000;
      listed = series;
    },
  };
}

type ScriptedPrometheus = ReturnType<typeof scriptedPrometheus>;

/** --metrics-max-age and --metrics-relist-interval; the test runs each relist itself. */
interface Timing {
  maxAgeMs: number;
  relistIntervalMs: number;
}
const DEFAULT_TIMING: Timing = { maxAgeMs: MAX_AGE_MS, relistIntervalMs: 60_000 };

/** Runs `test` on a series discovery over a scripted Prometheus, closing it afterwards. */
async function withDiscovery(
  test: (prometheus: ScriptedPrometheus, discovery: SeriesDiscovery) => Promise<void>,
  timing = DEFAULT_TIMING,
) {
  const prometheus = scriptedPrometheus();
  const discovery = await discoveryOn(prometheus, timing);
  try {
    await test(prometheus, discovery);
  } finally {
    await discovery.close();
  }
}

async function discoveryOn(prometheus: ScriptedPrometheus, timing: Timing): Promise<SeriesDiscovery> {
  const yaml = `prometheus:
  url: ${prometheus.client.url}
${WAITING_RULES}`;
  const settings = resolvePrometheusSettings(parseConfig(yaml, 'test config').prometheus, {
    metricsMaxAgeMs: timing.maxAgeMs,
  });
  assert.ok(settings);
  const rules = compileRules(settings, BUILTIN_RESOURCES);
  const sources = ruleSources(settings, rules, () => prometheus.client);
  return createSeriesDiscovery({
    rules,
    sources,
    now: prometheus.now,
    maxAgeMs: timing.maxAgeMs,
    holdMs: seriesHoldMs(timing),
    // Relists only when the test asks.
    relistIntervalMs: 24 * 3600_000,
    metrics: prometheusMetricsFor(new Registry()),
    logger: silentLogger(),
  });
}

const announced = (discovery: SeriesDiscovery) =>
  discovery
    .current()
    .externalList.map((m) => m.metric)
    .sort();

describe('series discovery of sparse series', () => {
  it('keeps announcing a series through a listing that falls between its samples', () =>
    withDiscovery(async (prometheus, discovery) => {
      prometheus.at(0, [JOBS, BUILDS]);
      assert.equal(await discovery.start(), true);
      assert.deepEqual(announced(discovery), ['builds_waiting', 'jobs_waiting']);

      // A series written every 2 minutes has no sample in this 60 s window.
      prometheus.at(60, [BUILDS]);
      assert.equal(await discovery.relist(), true);
      assert.deepEqual(announced(discovery), ['builds_waiting', 'jobs_waiting'], 'served through the gap');

      prometheus.at(60, [JOBS, BUILDS]);
      await discovery.relist();
      assert.deepEqual(announced(discovery), ['builds_waiting', 'jobs_waiting']);
    }));

  it('drops a series no listing has found for longer than the bound, and only that one', () =>
    withDiscovery(async (prometheus, discovery) => {
      const boundSeconds = seriesHoldMs(DEFAULT_TIMING) / 1000;
      assert.equal(boundSeconds, 300, 'the default: Prometheus lookback, longer than the 60 s max age');
      prometheus.at(0, [JOBS, BUILDS]);
      await discovery.start();
      for (let absent = 60; absent <= boundSeconds; absent += 60) {
        prometheus.at(60, [BUILDS]);
        await discovery.relist();
        assert.deepEqual(announced(discovery), ['builds_waiting', 'jobs_waiting'], `absent for ${absent} s`);
      }
      prometheus.at(60, [BUILDS]);
      await discovery.relist();
      assert.deepEqual(announced(discovery), ['builds_waiting'], `absent for ${boundSeconds + 60} s`);

      prometheus.at(60, [JOBS]);
      await discovery.relist();
      assert.deepEqual(announced(discovery), ['builds_waiting', 'jobs_waiting'], 'back at its next listing');
    }));
});

describe('series discovery with relists far apart', () => {
  it("keeps a series through one missed relist at prometheus-adapter's 10m interval and max age", () =>
    withDiscovery(
      async (prometheus, discovery) => {
        prometheus.at(0, [JOBS, BUILDS]);
        await discovery.start();
        // Relists come an interval apart plus the time each took.
        prometheus.at(601, [BUILDS]);
        await discovery.relist();
        assert.deepEqual(announced(discovery), ['builds_waiting', 'jobs_waiting'], 'one relist missed it');
        prometheus.at(601, [BUILDS]);
        await discovery.relist();
        assert.deepEqual(announced(discovery), ['builds_waiting'], 'two relists missed it: gone');
      },
      { maxAgeMs: 600_000, relistIntervalMs: 600_000 },
    ));
});

describe('the first relist of a server', () => {
  it('looks back over the whole hold until every query has been listed, then over the max age', () =>
    withDiscovery(async (prometheus, discovery) => {
      prometheus.at(0, new Error('connect ECONNREFUSED'));
      assert.equal(await discovery.start(), false);
      prometheus.at(5, [JOBS]);
      assert.equal(await discovery.relist(), true);
      prometheus.at(60, [JOBS]);
      await discovery.relist();
      // Three seriesQuery a relist: nothing held yet, so a start between samples would find nothing in 60 s.
      assert.deepEqual(prometheus.windows, [300, 300, 300, 300, 300, 300, 60, 60, 60]);
    }));
});

describe('the lists series discovery hands out', () => {
  it('are the same arrays after a relist that announces the same metrics, new ones after a change', () =>
    withDiscovery(async (prometheus, discovery) => {
      prometheus.at(0, [JOBS, LAG]);
      await discovery.start();
      const first = discovery.current();
      assert.equal(first.customList.length, 2, 'pods and namespaces');

      prometheus.at(60, [JOBS, LAG]);
      await discovery.relist();
      assert.equal(discovery.current().customList, first.customList);
      assert.equal(discovery.current().externalList, first.externalList);

      prometheus.at(60, [JOBS, BUILDS, LAG]);
      await discovery.relist();
      assert.equal(discovery.current().customList, first.customList, 'custom metrics unchanged');
      assert.notEqual(discovery.current().externalList, first.externalList, 'a metric added');
      assert.deepEqual(announced(discovery), ['builds_waiting', 'jobs_waiting']);
    }));
});
