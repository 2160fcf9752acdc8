import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../../../src/api/errors.js';
import { createCloudWatchBackend } from '../../../src/providers/cloudwatch/cloudwatch-backend.js';
import { cloudWatchBackendSchema } from '../../../src/providers/cloudwatch/config.js';
import { cloudWatchFailurePolicies } from '../../../src/providers/cloudwatch/module.js';
import { withFailurePolicy } from '../../../src/providers/failure-policy/policy-backend.js';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { externalRequest, FAST_AWS } from '../../support/aws-backend-context.js';
import { CloudWatchDouble } from '../../support/aws-cloudwatch-double.js';
import { type TestBackendContext, testBackendContext } from '../../support/backend-context.js';

const NOW = new Date('2026-03-01T12:00:30Z');
const MINUTE_BEFORE_END = Date.parse('2026-03-01T11:58:00Z') / 1000;
const LATENCY = { namespace: 'App', metricName: 'Latency' };

let cloudwatch: CloudWatchDouble;
const opened: MetricsBackend[] = [];

before(async () => {
  cloudwatch = await CloudWatchDouble.start();
});
after(async () => {
  await Promise.all(opened.map((b) => b.close?.()));
  await cloudwatch.close();
});
beforeEach(() => cloudwatch.reset());

/** `count` metrics `m0…`, each reading App/Latency{Route=r<i>} whose datapoint is i. */
function routeMetrics(count: number, extra: Record<string, unknown> = {}) {
  return Array.from({ length: count }, (_, i) => {
    cloudwatch.put({ ...LATENCY, dimensions: { Route: `r${i}` } }, [{ timestamp: MINUTE_BEFORE_END, value: i }]);
    return {
      name: `m${i}`,
      queries: [{ id: 'm', metricStat: { ...LATENCY, dimensions: [{ name: 'Route', value: `r${i}` }], stat: 'Sum' } }],
      ...extra,
    };
  });
}

async function startBackend(
  section: Record<string, unknown>,
  context: TestBackendContext = testBackendContext({ now: () => NOW }),
): Promise<MetricsBackend> {
  const config = cloudWatchBackendSchema.parse({ region: 'us-east-1', endpoint: cloudwatch.url, ...section });
  const backend = withFailurePolicy(
    createCloudWatchBackend(config, context, { aws: FAST_AWS }),
    cloudWatchFailurePolicies(config),
    context,
  );
  await backend.start?.();
  opened.push(backend);
  return backend;
}

async function readValue(backend: MetricsBackend, metric: string, signal?: AbortSignal): Promise<number | undefined> {
  assert.ok(backend.external);
  const samples = await backend.external.getExternalMetric(externalRequest(metric, '', 'default', signal));
  return samples[0]?.value;
}

describe('GetMetricData batching', () => {
  for (const [count, calls] of [
    [1, [1]],
    [500, [500]],
    [501, [500, 1]],
    [1200, [500, 500, 200]],
  ] as const) {
    test(`${count} concurrent requests for ${count} metrics make ${calls.length} GetMetricData call(s)`, async () => {
      const metrics = routeMetrics(count);
      const context = testBackendContext({ now: () => NOW });
      const backend = await startBackend({ metrics }, context);
      const values = await Promise.all(metrics.map((m) => readValue(backend, m.name)));
      assert.deepEqual(
        values,
        metrics.map((_, i) => i),
      );
      assert.deepEqual(cloudwatch.queriesPerCall, calls);
      const histogram = await context.registry
        .getSingleMetric('hpa_metrics_adapter_cloudwatch_queries_per_call')
        ?.get();
      const sum = histogram?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value;
      assert.equal(sum, count);
    });
  }

  test('Ids are unique per call: q<n>_<id>', async () => {
    const metrics = routeMetrics(3);
    const backend = await startBackend({ metrics });
    await Promise.all(metrics.map((m) => readValue(backend, m.name)));
    const ids = cloudwatch.queriesOf(0).map((q) => q.Id);
    assert.deepEqual(ids, ['q0_m', 'q1_m', 'q2_m']);
  });

  // 8 is the case a bound off by one lets through: a third group of 3 makes 9, one more than allowed.
  for (const maxQueriesPerCall of [7, 8]) {
    test(`one request's queries are never split across calls, and no call carries more than ${maxQueriesPerCall}`, async () => {
      const metrics = Array.from({ length: 5 }, (_, i) => ({
        name: `ratio${i}`,
        noData: 'zero',
        queries: [
          { id: 'a', metricStat: { ...LATENCY, stat: 'Sum' }, returnData: false },
          { id: 'b', metricStat: { ...LATENCY, stat: 'SampleCount' }, returnData: false },
          { id: 'e', expression: `a / b + ${i}`, returnData: true },
        ],
      }));
      const backend = await startBackend({ maxQueriesPerCall, metrics });
      await Promise.all(metrics.map((m) => readValue(backend, m.name)));
      assert.deepEqual(cloudwatch.queriesPerCall, [6, 6, 3]);
    });
  }

  test('queries with different time ranges go in different calls', async () => {
    const metrics = [
      ...routeMetrics(2),
      ...routeMetrics(2, { period: 300 }).map((m) => ({ ...m, name: `${m.name}-5m` })),
    ];
    const backend = await startBackend({ metrics });
    await Promise.all(metrics.map((m) => readValue(backend, m.name).catch(() => undefined)));
    assert.deepEqual(cloudwatch.queriesPerCall, [2, 2]);
    assert.notEqual(cloudwatch.calls[0]?.body.EndTime, cloudwatch.calls[1]?.body.EndTime);
  });

  test('an expression using METRICS() gets a call of its own and sums only its own metrics', async () => {
    const own = {
      name: 'total',
      queries: [
        {
          id: 'a',
          metricStat: { ...LATENCY, dimensions: [{ name: 'Route', value: 'r1' }], stat: 'Sum' },
          returnData: false,
        },
        {
          id: 'b',
          metricStat: { ...LATENCY, dimensions: [{ name: 'Route', value: 'r2' }], stat: 'Sum' },
          returnData: false,
        },
        { id: 'e', expression: 'SUM(METRICS())', returnData: true },
      ],
    };
    const metrics = [...routeMetrics(4), own];
    const backend = await startBackend({ metrics });
    const values = await Promise.all(metrics.map((m) => readValue(backend, m.name)));
    assert.equal(values.at(-1), 3);
    assert.deepEqual([...cloudwatch.queriesPerCall].sort(), [3, 4]);
  });

  test('requests arriving within batchWindowMs share a call; with 0 only those arriving together do', async () => {
    const metrics = routeMetrics(3);
    // The window is far wider than the 20 ms stagger, so only a hang could split the batch; the
    // unbatched half sends each request after the previous answer, so no timing is assumed.
    const windowed = await startBackend({ metrics, batchWindowMs: 1000 });
    const staggered = async (backend: MetricsBackend) =>
      Promise.all(
        metrics.map(async (m, i) => {
          await sleep(i * 10);
          return readValue(backend, m.name);
        }),
      );
    await staggered(windowed);
    assert.deepEqual(cloudwatch.queriesPerCall, [3]);

    cloudwatch.clearCalls();
    const immediate = await startBackend({ metrics, batchWindowMs: 0 });
    for (const m of metrics) await readValue(immediate, m.name);
    assert.deepEqual(cloudwatch.queriesPerCall, [1, 1, 1]);
    cloudwatch.clearCalls();
    await Promise.all(metrics.map((m) => readValue(immediate, m.name)));
    assert.deepEqual(cloudwatch.queriesPerCall, [3]);
  });

  test('a request that gives up leaves the others of its batch unharmed', async () => {
    const metrics = routeMetrics(2);
    const backend = await startBackend({ metrics, batchWindowMs: 50 });
    const controller = new AbortController();
    const leaving = readValue(backend, 'm0', controller.signal);
    const staying = readValue(backend, 'm1');
    controller.abort();
    await assert.rejects(leaving, (e: unknown) => e instanceof ApiError && /cancelled/.test(e.message));
    assert.equal(await staying, 1);
  });

  test('close fails requests still waiting for their batch', async () => {
    const metrics = routeMetrics(1);
    const backend = await startBackend({ metrics, batchWindowMs: 1000 });
    const waiting = readValue(backend, 'm0');
    await backend.close?.();
    await assert.rejects(waiting, (e: unknown) => e instanceof ApiError && e.reason === 'ServiceUnavailable');
    assert.equal(cloudwatch.calls.length, 0);
  });
});
