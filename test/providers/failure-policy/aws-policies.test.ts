import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createQueryCache } from '../../../src/cache/lru-query-cache.js';
import { createCloudWatchBackend } from '../../../src/providers/cloudwatch/cloudwatch-backend.js';
import { cloudWatchBackendSchema } from '../../../src/providers/cloudwatch/config.js';
import { cloudWatchFailurePolicies } from '../../../src/providers/cloudwatch/module.js';
import { withFailurePolicy } from '../../../src/providers/failure-policy/policy-backend.js';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { sqsBackendSchema } from '../../../src/providers/sqs/config.js';
import { sqsFailurePolicies } from '../../../src/providers/sqs/module.js';
import { createSqsBackend } from '../../../src/providers/sqs/sqs-backend.js';
import { counterValue, externalRequest, FAST_AWS, rejectsWithStatus } from '../../support/aws-backend-context.js';
import { CloudWatchDouble } from '../../support/aws-cloudwatch-double.js';
import { SqsDouble } from '../../support/aws-sqs-double.js';
import { testBackendContext } from '../../support/backend-context.js';

/**
 * The failure policies against the SQS and CloudWatch wire doubles, through a real cache on a
 * test clock: each policy while the backend is down, while it has no data, and once it recovers.
 */

const TTL_MS = 15_000;
const CACHE_MAX_STALE_MS = 120_000;
const FALLBACKS = 'hpa_metrics_adapter_fallbacks_total';
const DOWN = { kind: 'status', status: 503, type: 'ServiceUnavailable', message: 'down for the test' } as const;

let sqs: SqsDouble;
let cloudwatch: CloudWatchDouble;
const opened: MetricsBackend[] = [];

before(async () => {
  sqs = await SqsDouble.start();
  cloudwatch = await CloudWatchDouble.start();
});
after(async () => {
  await Promise.all(opened.map((b) => b.close?.()));
  await sqs.close();
  await cloudwatch.close();
});
beforeEach(() => {
  sqs.reset();
  cloudwatch.reset();
  sqs.setQueue('jobs', { visible: 5 });
});

interface Harness {
  backend: MetricsBackend;
  registry: Registry;
  clock: { ms: number };
  logs: { msg: string; metric?: string; reason?: string }[];
}

function harness(): Omit<Harness, 'backend'> & { context: ReturnType<typeof testBackendContext> } {
  const clock = { ms: Date.parse('2026-03-01T12:00:30Z') };
  const registry = new Registry();
  const logs: Harness['logs'] = [];
  const record = (level: string) => (fields: object, msg?: string) => {
    logs.push({ ...(fields as Record<string, string>), msg: `${level}: ${msg}` });
  };
  const logger = testBackendContext().logger;
  const recording = Object.assign(Object.create(logger) as typeof logger, {
    warn: record('warn'),
    info: record('info'),
  });
  const cache = createQueryCache(
    'test',
    {
      ttlMs: TTL_MS,
      maxStaleMs: CACHE_MAX_STALE_MS,
      negativeTtlMs: 0,
      maxEntries: 100,
      maxBytes: 1e7,
      refreshAheadRatio: 0,
    },
    { registry, now: () => clock.ms },
  );
  const context = testBackendContext({ registry, cache, logger: recording, now: () => new Date(clock.ms) });
  return { registry, clock, logs, context };
}

async function sqsHarness(section: Record<string, unknown>): Promise<Harness> {
  const h = harness();
  const config = sqsBackendSchema.parse({ region: 'us-east-1', endpoint: sqs.url, maxAttempts: 1, ...section });
  const backend = withFailurePolicy(
    createSqsBackend(config, h.context, { aws: FAST_AWS }),
    sqsFailurePolicies(config),
    h.context,
  );
  await backend.start?.();
  opened.push(backend);
  return { ...h, backend };
}

async function read(h: Harness, metric: string, selector = ''): Promise<number | undefined> {
  assert.ok(h.backend.external);
  const samples = await h.backend.external.getExternalMetric(externalRequest(metric, selector));
  return samples[0]?.value;
}

const fallbacks = (h: Harness, metric: string, reason: string) =>
  counterValue(h.registry, FALLBACKS, { metric, reason });

describe('onError', () => {
  test("lastGood (the default) serves the last value up to the metric's maxStale, then 503; recovered, the new value", async () => {
    const h = await sqsHarness({
      metrics: [
        { name: 'jobs-default', queueName: 'jobs' },
        { name: 'jobs-short', queueName: 'jobs', failurePolicy: { maxStale: '30s' } },
      ],
    });
    assert.equal(await read(h, 'jobs-default'), 5);
    assert.equal(await read(h, 'jobs-short'), 5);
    sqs.failNext('GetQueueAttributes', DOWN, 100);
    h.clock.ms += TTL_MS + 20_000;
    assert.equal(await read(h, 'jobs-default'), 5, 'within the cache maxStale');
    assert.equal(await read(h, 'jobs-short'), 5, 'within its own 30s');
    h.clock.ms += 20_000; // 40 s past the TTL
    assert.equal(await read(h, 'jobs-default'), 5, 'the backend default (cache maxStale 2m) still applies');
    await rejectsWithStatus(read(h, 'jobs-short'), 'ServiceUnavailable', /no value younger than 45s/);
    assert.equal(await fallbacks(h, 'jobs-default', 'last_good'), 2);
    assert.equal(await fallbacks(h, 'jobs-short', 'last_good'), 1);

    sqs.reset();
    sqs.setQueue('jobs', { visible: 9 });
    h.clock.ms += 10_000;
    assert.equal(await read(h, 'jobs-short'), 9);
    const transitions = h.logs.filter((l) => l.metric === 'jobs-short').map((l) => l.msg);
    assert.deepEqual(transitions, [
      'warn: serving a fallback value for the metric (its failure policy)',
      'info: the metric is answered by its backend again',
    ]);
  });

  test('a fixed value is served while the backend is down, counted and logged once; recovered, the real value', async () => {
    const h = await sqsHarness({ failurePolicy: { onError: 3 }, metrics: [{ name: 'jobs', queueName: 'jobs' }] });
    assert.equal(await read(h, 'jobs'), 5);
    sqs.failNext('GetQueueAttributes', DOWN, 100);
    for (let i = 0; i < 3; i++) {
      h.clock.ms += TTL_MS;
      assert.equal(await read(h, 'jobs'), 3, 'the fixed value, not the last good 5');
    }
    assert.equal(await fallbacks(h, 'jobs', 'error_value'), 3);
    assert.equal(await fallbacks(h, 'jobs', 'last_good'), 0);
    assert.equal(h.logs.filter((l) => l.reason === 'error_value').length, 1, 'logged once per transition');
    sqs.reset();
    sqs.setQueue('jobs', { visible: 6 });
    h.clock.ms += TTL_MS;
    assert.equal(await read(h, 'jobs'), 6);
  });

  test('throttling counts as a failure: the fixed value answers while SQS throttles', async () => {
    const h = await sqsHarness({ metrics: [{ name: 'jobs', queueName: 'jobs', failurePolicy: { onError: 4 } }] });
    assert.equal(await read(h, 'jobs'), 5);
    sqs.failNext('GetQueueAttributes', { kind: 'throttle' }, 100);
    h.clock.ms += TTL_MS;
    assert.equal(await read(h, 'jobs'), 4);
    assert.equal(await fallbacks(h, 'jobs', 'error_value'), 1);
  });

  test('fail answers 503 at once though a value is cached, and never counts a fallback', async () => {
    const h = await sqsHarness({ metrics: [{ name: 'jobs', queueName: 'jobs', failurePolicy: { onError: 'fail' } }] });
    assert.equal(await read(h, 'jobs'), 5);
    sqs.failNext('GetQueueAttributes', DOWN, 100);
    h.clock.ms += TTL_MS;
    await rejectsWithStatus(read(h, 'jobs'), 'ServiceUnavailable', /GetQueueAttributes/);
    // The next request within the retry pause gets the same failure without another call.
    const calls = sqs.callsOf('GetQueueAttributes').length;
    await rejectsWithStatus(read(h, 'jobs'), 'ServiceUnavailable', /GetQueueAttributes/);
    assert.equal(sqs.callsOf('GetQueueAttributes').length, calls);
    assert.equal(await counterValue(h.registry, FALLBACKS, { metric: 'jobs' }), 0);
    sqs.reset();
    sqs.setQueue('jobs', { visible: 1 });
    h.clock.ms += TTL_MS;
    assert.equal(await read(h, 'jobs'), 1);
  });

  test('a refused request (403) is never replaced by a fallback', async () => {
    const h = await sqsHarness({ failurePolicy: { onError: 3, noData: 'zero' }, allowQueues: ['jobs'] });
    await rejectsWithStatus(read(h, 'sqs-queue-length', 'queue-name=secret'), 'Forbidden', /allowQueues/);
  });
});

describe('noData', () => {
  async function cloudWatchHarness(metrics: Record<string, unknown>[], section: Record<string, unknown> = {}) {
    const h = harness();
    const config = cloudWatchBackendSchema.parse({
      region: 'us-east-1',
      endpoint: cloudwatch.url,
      metrics,
      ...section,
    });
    const backend = withFailurePolicy(
      createCloudWatchBackend(config, h.context, { aws: FAST_AWS }),
      cloudWatchFailurePolicies(config),
      h.context,
    );
    await backend.start?.();
    opened.push(backend);
    return { ...h, backend };
  }
  const depth = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    queries: [
      {
        id: 'm1',
        metricStat: {
          namespace: 'AWS/SQS',
          metricName: 'ApproximateNumberOfMessagesVisible',
          dimensions: [{ name: 'QueueName', value: 'jobs' }],
          stat: 'Average',
        },
      },
    ],
    ...extra,
  });
  const point = (h: Harness, value: number) =>
    cloudwatch.put(
      { namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: { QueueName: 'jobs' } },
      [{ timestamp: Math.floor(h.clock.ms / 1000) - 150, value }],
    );

  test('error (the default) is 404; zero and a value are served, counted as no_data_value; data again, its value', async () => {
    const h = await cloudWatchHarness(
      [depth('strict'), depth('zero', { failurePolicy: { noData: 'zero' } }), depth('floor')],
      { failurePolicy: { noData: 1.5 } },
    );
    // The section default applies to "strict" too unless it says otherwise: it does not, so 1.5.
    assert.equal(await read(h, 'strict'), 1.5);
    assert.equal(await read(h, 'zero'), 0);
    assert.equal(await read(h, 'floor'), 1.5);
    assert.equal(await fallbacks(h, 'zero', 'no_data_value'), 1);
    point(h, 4);
    h.clock.ms += TTL_MS;
    assert.deepEqual([await read(h, 'strict'), await read(h, 'zero'), await read(h, 'floor')], [4, 4, 4]);
  });

  test('the old per-metric noData still works and a metric without one answers 404', async () => {
    const h = await cloudWatchHarness([depth('old', { noData: 'zero' }), depth('strict')]);
    assert.equal(await read(h, 'old'), 0);
    await rejectsWithStatus(read(h, 'strict'), 'NotFound', /no datapoint/);
  });

  test('an SQS queue that does not exist is no data: its noData value answers', async () => {
    const h = await sqsHarness({ metrics: [{ name: 'gone', queueName: 'gone', failurePolicy: { noData: 'zero' } }] });
    assert.equal(await read(h, 'gone'), 0);
    assert.equal(await fallbacks(h, 'gone', 'no_data_value'), 1);
  });

  test('CloudWatch down with onError: a value, then recovered', async () => {
    const h = await cloudWatchHarness([depth('depth', { failurePolicy: { onError: 2 } })]);
    point(h, 8);
    assert.equal(await read(h, 'depth'), 8);
    cloudwatch.failNext(DOWN, 100);
    h.clock.ms += TTL_MS;
    assert.equal(await read(h, 'depth'), 2);
    assert.equal(await fallbacks(h, 'depth', 'error_value'), 1);
    cloudwatch.reset();
    point(h, 7);
    h.clock.ms += TTL_MS;
    assert.equal(await read(h, 'depth'), 7);
  });
});

describe('config', () => {
  test('maxStale goes only with lastGood, and values must be finite', () => {
    const bad = [
      { failurePolicy: { onError: 'fail', maxStale: '10s' } },
      { failurePolicy: { onError: 'sometimes' } },
      { failurePolicy: { noData: 'nothing' } },
      { failurePolicy: { maxStale: 'soon' } },
    ];
    for (const section of bad) {
      assert.equal(sqsBackendSchema.safeParse(section).success, false, JSON.stringify(section));
    }
    const good = sqsBackendSchema.parse({ failurePolicy: { onError: 'lastGood', maxStale: '5m', noData: 'zero' } });
    assert.deepEqual(sqsFailurePolicies(good)('sqs-queue-length'), {
      onError: 'lastGood',
      maxStaleMs: 300_000,
      noData: 0,
    });
  });
});
