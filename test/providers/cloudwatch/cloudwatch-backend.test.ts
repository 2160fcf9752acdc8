import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ApiError } from '../../../src/api/errors.js';
import { createCloudWatchBackend } from '../../../src/providers/cloudwatch/cloudwatch-backend.js';
import { cloudWatchBackendSchema } from '../../../src/providers/cloudwatch/config.js';
import { cloudWatchFailurePolicies } from '../../../src/providers/cloudwatch/module.js';
import { withFailurePolicy } from '../../../src/providers/failure-policy/policy-backend.js';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { counterValue, externalRequest, FAST_AWS, rejectsWithStatus } from '../../support/aws-backend-context.js';
import { CloudWatchDouble } from '../../support/aws-cloudwatch-double.js';
import { type TestBackendContext, testBackendContext } from '../../support/backend-context.js';

// now = 12:00:30; with period 60 and lag 60 the window ends at 11:59:00 and starts at 11:54:00.
const NOW = new Date('2026-03-01T12:00:30Z');
const at = (hhmmss: string): number => Date.parse(`2026-03-01T${hhmmss}Z`) / 1000;
const END = at('11:59:00');
const START = at('11:54:00');
const QUEUE_DEPTH = { namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible' };

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

function queueDepthMetric(name: string, queue: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    queries: [
      {
        id: 'm1',
        metricStat: { ...QUEUE_DEPTH, dimensions: [{ name: 'QueueName', value: queue }], stat: 'Average' },
      },
    ],
    ...extra,
  };
}

async function startBackend(
  section: Record<string, unknown>,
  context: TestBackendContext = testBackendContext({ now: () => NOW }),
): Promise<{ backend: MetricsBackend; context: TestBackendContext }> {
  const config = cloudWatchBackendSchema.parse({
    region: 'us-east-1',
    endpoint: cloudwatch.url,
    timeoutMs: 1000,
    ...section,
  });
  const backend = withFailurePolicy(
    createCloudWatchBackend(config, context, { aws: FAST_AWS }),
    cloudWatchFailurePolicies(config),
    context,
  );
  await backend.start?.();
  opened.push(backend);
  return { backend, context };
}

function read(backend: MetricsBackend, metric: string, selector = '', namespace = 'default') {
  assert.ok(backend.external);
  return backend.external.getExternalMetric(externalRequest(metric, selector, namespace));
}

describe('values', () => {
  test('answers the newest datapoint in the aligned window, stamped with its time', async () => {
    cloudwatch.put({ ...QUEUE_DEPTH, dimensions: { QueueName: 'jobs' } }, [
      { timestamp: at('11:55:10'), value: 3 },
      { timestamp: at('11:58:20'), value: 4 },
      { timestamp: at('11:58:40'), value: 6 },
      { timestamp: at('11:59:30'), value: 100 },
    ]);
    const { backend } = await startBackend({ metrics: [queueDepthMetric('jobs-depth', 'jobs')] });
    const samples = await read(backend, 'jobs-depth', 'env=prod');
    assert.deepEqual(samples, [
      { labels: { env: 'prod' }, value: 5, timestamp: new Date('2026-03-01T11:58:00Z'), windowSeconds: 60 },
    ]);
    assert.deepEqual(cloudwatch.calls[0]?.body, {
      MetricDataQueries: [
        {
          Id: 'q0_m1',
          MetricStat: {
            Metric: {
              ...{ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' },
              Dimensions: [{ Name: 'QueueName', Value: 'jobs' }],
            },
            Period: 60,
            Stat: 'Average',
          },
          ReturnData: true,
        },
      ],
      StartTime: START,
      EndTime: END,
      ScanBy: 'TimestampDescending',
    });
  });

  test(`fills \${selector.<label>} in dimensions from the metric selector`, async () => {
    cloudwatch.put({ ...QUEUE_DEPTH, dimensions: { QueueName: 'emails' } }, [{ timestamp: at('11:57:00'), value: 8 }]);
    const { backend } = await startBackend({ metrics: [queueDepthMetric('queue-depth', `\${selector.queue}`)] });
    const [sample] = await read(backend, 'queue-depth', 'queue=emails');
    assert.equal(sample?.value, 8);
    assert.deepEqual(sample?.labels, { queue: 'emails' });
  });

  test('a selector missing a label the dimensions need is 400 naming it, with no AWS call', async () => {
    const { backend } = await startBackend({ metrics: [queueDepthMetric('queue-depth', `\${selector.queue}`)] });
    await rejectsWithStatus(
      read(backend, 'queue-depth', 'other=x'),
      'BadRequest',
      /needs the label selector queue=<value>/,
    );
    await rejectsWithStatus(read(backend, 'queue-depth', 'queue!=x'), 'BadRequest', /queue=<value>/);
    assert.equal(cloudwatch.calls.length, 0);
  });

  test('metric math: Ids referenced by an expression are rewritten with the batch prefix', async () => {
    cloudwatch.put({ ...QUEUE_DEPTH, dimensions: { QueueName: 'jobs' } }, [{ timestamp: at('11:58:00'), value: 21 }]);
    const { backend } = await startBackend({
      metrics: [
        {
          name: 'per-worker',
          queries: [
            { ...queueDepthMetric('', 'jobs').queries[0], returnData: false },
            { id: 'e1', expression: 'm1 / 3', returnData: true },
          ],
        },
      ],
    });
    assert.equal((await read(backend, 'per-worker'))[0]?.value, 7);
    const queries = cloudwatch.calls[0]?.body.MetricDataQueries as { Id: string; Expression?: string }[];
    assert.deepEqual(
      queries.map((q) => [q.Id, q.Expression]),
      [
        ['q0_m1', undefined],
        ['q0_e1', 'q0_m1 / 3'],
      ],
    );
  });

  test('follows NextToken across pages and merges the series', async () => {
    cloudwatch.pageSize = 2;
    cloudwatch.put({ ...QUEUE_DEPTH, dimensions: { QueueName: 'jobs' } }, [
      { timestamp: at('11:54:00'), value: 1 },
      { timestamp: at('11:55:00'), value: 2 },
      { timestamp: at('11:56:00'), value: 3 },
      { timestamp: at('11:57:00'), value: 4 },
      { timestamp: at('11:58:00'), value: 5 },
    ]);
    cloudwatch.put({ ...QUEUE_DEPTH, dimensions: { QueueName: 'other' } }, [{ timestamp: at('11:58:00'), value: 9 }]);
    const { backend } = await startBackend({
      metrics: [queueDepthMetric('jobs-depth', 'jobs'), queueDepthMetric('other-depth', 'other')],
    });
    const [jobs, other] = await Promise.all([read(backend, 'jobs-depth'), read(backend, 'other-depth')]);
    assert.equal(jobs[0]?.value, 5);
    assert.equal(other[0]?.value, 9);
    assert.deepEqual(
      cloudwatch.calls.map((c) => c.body.NextToken),
      [undefined, '2', '4'],
    );
  });

  test('PartialData: the datapoints that came are used', async () => {
    cloudwatch.partialData = true;
    cloudwatch.put({ ...QUEUE_DEPTH, dimensions: { QueueName: 'jobs' } }, [{ timestamp: at('11:56:00'), value: 2 }]);
    const { backend } = await startBackend({ metrics: [queueDepthMetric('jobs-depth', 'jobs')] });
    assert.equal((await read(backend, 'jobs-depth'))[0]?.value, 2);
  });
});

describe('no data', () => {
  test('noData: error (the default) is 404 naming metric, window and dimensions', async () => {
    const { backend } = await startBackend({ metrics: [queueDepthMetric('jobs-depth', 'jobs')] });
    await rejectsWithStatus(
      read(backend, 'jobs-depth'),
      'NotFound',
      /no datapoint for external metric "jobs-depth" between 2026-03-01T11:54:00Z and 2026-03-01T11:59:00Z \(window 300s, period 60s, lag 60s; m1 = AWS\/SQS ApproximateNumberOfMessagesVisible\{QueueName=jobs\} Average\)/,
    );
  });

  test('noData: zero and a number answer that value, stamped when it is served (through the failure policy)', async () => {
    const { backend } = await startBackend({
      metrics: [
        queueDepthMetric('zero', 'jobs', { noData: 'zero' }),
        queueDepthMetric('floor', 'jobs', { noData: 2.5, window: 120 }),
      ],
    });
    const [zero] = await read(backend, 'zero');
    assert.deepEqual([zero?.value, zero?.timestamp], [0, NOW]);
    assert.equal((await read(backend, 'floor'))[0]?.value, 2.5);
    assert.equal(cloudwatch.calls.at(-1)?.body.StartTime, END - 120);
  });
});

describe('access and failures', () => {
  test('a namespace not allowed for the metric is 403 naming the rule', async () => {
    const { backend } = await startBackend({
      metrics: [queueDepthMetric('jobs-depth', 'jobs', { namespaces: ['batch'] })],
    });
    await rejectsWithStatus(
      read(backend, 'jobs-depth', '', 'web'),
      'Forbidden',
      /namespace "web": cloudwatch.metrics\[0\].namespaces allows only batch/,
    );
  });

  test('throttling is retried; past maxAttempts it is 503 naming service, operation and message', async () => {
    cloudwatch.put({ ...QUEUE_DEPTH, dimensions: { QueueName: 'jobs' } }, [{ timestamp: at('11:58:00'), value: 1 }]);
    const { backend, context } = await startBackend({ metrics: [queueDepthMetric('jobs-depth', 'jobs')] });
    cloudwatch.failNext({ kind: 'throttle' }, 2);
    assert.equal((await read(backend, 'jobs-depth'))[0]?.value, 1);
    assert.deepEqual(
      cloudwatch.calls.map((c) => `${c.attempt}/${c.maxAttempts}`),
      ['1/3', '2/3', '3/3'],
    );
    cloudwatch.failNext({ kind: 'throttle' }, 3);
    await rejectsWithStatus(
      read(backend, 'jobs-depth'),
      'ServiceUnavailable',
      /external metric "jobs-depth": CloudWatch GetMetricData for a batch of 1 query failed after 3 attempts \(throttled\): Throttling: Rate exceeded/,
    );
    const labels = { service: 'cloudwatch', operation: 'GetMetricData' };
    assert.equal(await counterValue(context.registry, 'hpa_metrics_adapter_aws_retries_total', labels), 4);
  });

  test('an invalid parameter is 400 with AWS message, not retried', async () => {
    const { backend } = await startBackend({
      metrics: [{ name: 'median', queries: [{ id: 'm1', metricStat: { ...QUEUE_DEPTH, stat: 'Median' } }] }],
    });
    await rejectsWithStatus(
      read(backend, 'median'),
      'BadRequest',
      /refused by AWS: InvalidParameterValueException: The value Median for parameter MetricDataQueries.member.1.MetricStat.Stat is not valid/,
    );
    assert.equal(cloudwatch.calls.length, 1);
  });

  test('a call refused for one bad query is split until only that query fails', async () => {
    const good = ['a', 'b', 'c'].map((q) => queueDepthMetric(`depth-${q}`, q, { noData: 'zero' }));
    const bad = { name: 'bad', queries: [{ id: 'm1', metricStat: { ...QUEUE_DEPTH, stat: 'Median' } }] };
    const { backend } = await startBackend({ metrics: [...good, bad] });
    const results = await Promise.allSettled([...good, bad].map((m) => read(backend, m.name)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'rejected'],
    );
    const refusal = results[3];
    assert.ok(refusal?.status === 'rejected' && refusal.reason instanceof ApiError);
    assert.equal(refusal.reason.reason, 'BadRequest');
    assert.deepEqual(cloudwatch.queriesPerCall, [4, 2, 2, 1, 1]);
  });

  test('a slow CloudWatch times out on every attempt and answers 503 without waiting for it', async () => {
    const { backend } = await startBackend({
      timeoutMs: 150,
      maxAttempts: 2,
      metrics: [queueDepthMetric('d', 'jobs')],
    });
    cloudwatch.failNext({ kind: 'delay', ms: 5000 }, 2);
    const started = Date.now();
    // What happened: both attempts were made and the error names the timeout.
    await rejectsWithStatus(read(backend, 'd'), 'ServiceUnavailable', /\(timeout\)/);
    assert.equal(cloudwatch.calls.length, 2);
    // A hang-only bound: the 5 s answers were not awaited (2 × 150 ms expected; loose for a loaded machine).
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 4500, `took ${elapsed} ms`);
  });

  test('a query failing inside a batched call fails only its own request', async () => {
    cloudwatch.put({ ...QUEUE_DEPTH, dimensions: { QueueName: 'jobs' } }, [{ timestamp: at('11:58:00'), value: 1 }]);
    cloudwatch.failQuery(
      (q) => q.MetricStat?.Metric.Dimensions?.[0]?.Value === 'secret',
      'Forbidden',
      'not authorized for this metric',
    );
    const { backend } = await startBackend({
      metrics: [queueDepthMetric('jobs-depth', 'jobs'), queueDepthMetric('secret-depth', 'secret')],
    });
    const [jobs, secret] = await Promise.allSettled([read(backend, 'jobs-depth'), read(backend, 'secret-depth')]);
    assert.equal(cloudwatch.calls.length, 1);
    assert.equal(jobs.status === 'fulfilled' && jobs.value[0]?.value, 1);
    assert.ok(secret.status === 'rejected' && secret.reason instanceof ApiError);
    assert.equal(secret.reason.reason, 'ServiceUnavailable');
    assert.match(
      secret.reason.message,
      /secret-depth.*answered Forbidden for query m1.*not authorized for this metric/,
    );
  });

  test('a failed call fails only the requests batched into it', async () => {
    const metrics = ['a', 'b', 'c', 'd'].map((q) => queueDepthMetric(`depth-${q}`, q, { noData: 'zero' }));
    const { backend } = await startBackend({ maxQueriesPerCall: 2, maxAttempts: 1, metrics });
    cloudwatch.failNext({ kind: 'status', status: 503, message: 'Service Unavailable' });
    const results = await Promise.allSettled(metrics.map((m) => read(backend, m.name)));
    assert.deepEqual(cloudwatch.queriesPerCall, [2, 2]);
    const failedQueues = cloudwatch.queriesOf(0).map((q) => q.MetricStat?.Metric.Dimensions?.[0]?.Value);
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [['a', 'b', 'c', 'd'][i]] : []));
    assert.deepEqual(failed, failedQueues);
  });
});
