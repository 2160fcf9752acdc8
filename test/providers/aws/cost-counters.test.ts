import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createCloudWatchBackend } from '../../../src/providers/cloudwatch/cloudwatch-backend.js';
import { cloudWatchBackendSchema } from '../../../src/providers/cloudwatch/config.js';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { sqsBackendSchema } from '../../../src/providers/sqs/config.js';
import { createSqsBackend } from '../../../src/providers/sqs/sqs-backend.js';
import { counterValue, externalRequest, FAST_AWS } from '../../support/aws-backend-context.js';
import { CloudWatchDouble, type WireQuery } from '../../support/aws-cloudwatch-double.js';
import { SqsDouble } from '../../support/aws-sqs-double.js';
import { testBackendContext } from '../../support/backend-context.js';

/** The cost counters in /metrics against what the wire doubles saw, call for call. */

const NOW = new Date('2026-03-01T12:00:30Z');
let cloudwatch: CloudWatchDouble;
let sqs: SqsDouble;
const opened: MetricsBackend[] = [];

before(async () => {
  cloudwatch = await CloudWatchDouble.start();
  sqs = await SqsDouble.start();
});
after(async () => {
  await Promise.all(opened.map((b) => b.close?.()));
  await cloudwatch.close();
  await sqs.close();
});

const stat = (queue: string) => ({
  namespace: 'AWS/SQS',
  metricName: 'ApproximateNumberOfMessagesVisible',
  dimensions: [{ name: 'QueueName', value: queue }],
  stat: 'Average',
});

test('CloudWatch: metrics requested and calls by metric equal the queries and calls the double received', async () => {
  const context = testBackendContext({ now: () => NOW });
  const config = cloudWatchBackendSchema.parse({
    region: 'us-east-1',
    endpoint: cloudwatch.url,
    maxQueriesPerCall: 4,
    metrics: [
      { name: 'one', queries: [{ id: 'a', metricStat: stat('a') }] },
      {
        name: 'ratio',
        queries: [
          { id: 'a', metricStat: stat('a'), returnData: false },
          { id: 'b', metricStat: stat('b'), returnData: false },
          { id: 'e', expression: 'a / b', returnData: true },
        ],
      },
      { name: 'three', queries: [{ id: 'c', metricStat: stat('c') }] },
    ],
  });
  const backend = createCloudWatchBackend(config, context, { aws: FAST_AWS });
  await backend.start?.();
  opened.push(backend);
  assert.ok(backend.external);
  const external = backend.external;
  const reads = ['one', 'ratio', 'three', 'one', 'three'].map((m) =>
    external.getExternalMetric(externalRequest(m)).catch(() => undefined),
  );
  await Promise.all(reads);

  const calls = cloudwatch.calls;
  assert.ok(calls.length >= 2, `4 queries per call split 7 queries over ${calls.length} calls`);
  assert.equal(
    await counterValue(context.registry, 'hpa_metrics_adapter_aws_requests_total', {
      service: 'cloudwatch',
      operation: 'GetMetricData',
      outcome: 'success',
    }),
    calls.length,
  );
  const queriesSeen = calls.flatMap((call) => call.body.MetricDataQueries as WireQuery[]);
  for (const [metric, ids] of [
    ['one', ['a']],
    ['ratio', ['a', 'b']],
    ['three', ['c']],
  ] as const) {
    // Batching prefixes each request's Ids (q<n>_); a metric's share is told apart by its query shape.
    const billed = await counterValue(context.registry, 'hpa_metrics_adapter_cloudwatch_metrics_requested_total', {
      metric,
    });
    const inCalls = await counterValue(context.registry, 'hpa_metrics_adapter_aws_metric_requests_total', {
      service: 'cloudwatch',
      operation: 'GetMetricData',
      metric,
    });
    assert.ok(billed >= ids.length, `${metric}: ${billed}`);
    assert.ok(inCalls >= 1, `${metric}: ${inCalls}`);
  }
  const billedTotal = (
    await Promise.all(
      ['one', 'ratio', 'three'].map((metric) =>
        counterValue(context.registry, 'hpa_metrics_adapter_cloudwatch_metrics_requested_total', { metric }),
      ),
    )
  ).reduce((a, b) => a + b, 0);
  assert.equal(billedTotal, queriesSeen.filter((q) => q.MetricStat !== undefined).length);
});

test('SQS: GetQueueAttributes by metric equals the calls the double received', async () => {
  sqs.setQueue('jobs', { visible: 2 });
  sqs.setQueue('mail', { visible: 3 });
  const context = testBackendContext({ now: () => NOW });
  const config = sqsBackendSchema.parse({
    region: 'us-east-1',
    endpoint: sqs.url,
    allowQueues: ['*'],
    metrics: [{ name: 'jobs-backlog', queueName: 'jobs' }],
  });
  const backend = createSqsBackend(config, context, { aws: FAST_AWS });
  await backend.start?.();
  opened.push(backend);
  assert.ok(backend.external);
  for (let i = 0; i < 3; i++) await backend.external.getExternalMetric(externalRequest('jobs-backlog'));
  for (let i = 0; i < 2; i++) {
    await backend.external.getExternalMetric(externalRequest('sqs-queue-length', 'queue-name=mail'));
  }
  const byUrl = (name: string) =>
    sqs.callsOf('GetQueueAttributes').filter((c) => String(c.body.QueueUrl).endsWith(`/${name}`)).length;
  const counted = (metric: string) =>
    counterValue(context.registry, 'hpa_metrics_adapter_aws_metric_requests_total', {
      service: 'sqs',
      operation: 'GetQueueAttributes',
      metric,
    });
  assert.deepEqual([await counted('jobs-backlog'), await counted('sqs-queue-length')], [byUrl('jobs'), byUrl('mail')]);
  assert.deepEqual([byUrl('jobs'), byUrl('mail')], [3, 2]);
});
