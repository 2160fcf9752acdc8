import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { sqsBackendSchema } from '../../../src/providers/sqs/config.js';
import { createSqsBackend } from '../../../src/providers/sqs/sqs-backend.js';
import { counterValue, externalRequest, FAST_AWS, rejectsWithStatus } from '../../support/aws-backend-context.js';
import { CloudWatchDouble } from '../../support/aws-cloudwatch-double.js';
import { SqsDouble } from '../../support/aws-sqs-double.js';
import { testBackendContext } from '../../support/backend-context.js';

/** The oldest-message age against the CloudWatch wire double: the exact query, batching, access. */

const NOW = new Date('2026-03-01T12:00:30Z');
const END = Date.parse('2026-03-01T11:59:00Z') / 1000;
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

test('ages of many queues go out in one GetMetricData call, as AWS/SQS ApproximateAgeOfOldestMessage Maximum per minute', async () => {
  const queues = Array.from({ length: 30 }, (_, i) => `batch-${i}`);
  for (const [i, queue] of queues.entries()) {
    cloudwatch.put(
      { namespace: 'AWS/SQS', metricName: 'ApproximateAgeOfOldestMessage', dimensions: { QueueName: queue } },
      [{ timestamp: END - 60, value: i * 10 }],
    );
  }
  const context = testBackendContext({ now: () => NOW });
  const config = sqsBackendSchema.parse({
    region: 'us-east-1',
    endpoint: sqs.url,
    cloudWatchEndpoint: cloudwatch.url,
    allowQueues: ['batch-*'],
    accounts: { '210987654321': { roleArn: 'arn:aws:iam::210987654321:role/reader' } },
  });
  const backend = createSqsBackend(config, context, { aws: FAST_AWS });
  await backend.start?.();
  opened.push(backend);
  const { external } = backend;
  assert.ok(external);
  // The first read loads the CloudWatch SDK; the other 29 then arrive within one batch window.
  const read = async (q: string) =>
    (await external.getExternalMetric(externalRequest('sqs-oldest-message-age', `queue-name=${q}`)))[0]?.value;
  assert.equal(await read('batch-0'), 0);
  cloudwatch.clearCalls();
  const values = await Promise.all(queues.slice(1).map(read));
  assert.deepEqual(
    values,
    queues.slice(1).map((_, i) => (i + 1) * 10),
  );
  assert.equal(cloudwatch.calls.length, 1);
  assert.deepEqual(cloudwatch.calls[0]?.body.StartTime, END - 300);
  assert.deepEqual(cloudwatch.calls[0]?.body.EndTime, END);
  const sent = cloudwatch.queriesOf(0);
  assert.equal(sent.length, 29);
  const batch1 = sent.find((q) => JSON.stringify(q.MetricStat).includes('"batch-1"'));
  assert.deepEqual(batch1?.MetricStat, {
    Metric: {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: 'batch-1' }],
    },
    Period: 60,
    Stat: 'Maximum',
  });
  assert.equal(
    await counterValue(context.registry, 'hpa_metrics_adapter_cloudwatch_metrics_requested_total', {
      metric: 'sqs-oldest-message-age',
    }),
    1 + 29,
  );
  await rejectsWithStatus(
    external.getExternalMetric(externalRequest('sqs-oldest-message-age', 'queue-name=batch-1,account-id=111122223333')),
    'Forbidden',
    /account 111122223333 has no role configured/,
  );
  await rejectsWithStatus(
    external.getExternalMetric(externalRequest('sqs-oldest-message-age', 'queue-name=secret')),
    'Forbidden',
    /allowQueues/,
  );
  assert.equal(cloudwatch.calls.length, 1, 'refused requests send nothing');
});
