import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { timeRangeAt } from '../../../src/providers/cloudwatch/queries.js';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { sqsBackendSchema } from '../../../src/providers/sqs/config.js';
import { createSqsBackend } from '../../../src/providers/sqs/sqs-backend.js';
import {
  counterValue,
  externalRequest,
  FAST_AWS,
  rejectsWithStatus,
  TEST_CREDENTIALS,
} from '../../support/aws-backend-context.js';
import { testBackendContext } from '../../support/backend-context.js';
import { type MotoServer, motoAvailability, requireMoto, startMoto } from '../../support/moto.js';

/**
 * More queue signals against moto: FIFO queues, several queues in one metric (a list, a
 * ListQueues prefix), and the age of the oldest message from CloudWatch AWS/SQS datapoints the
 * test puts (moto does not publish SQS metrics itself).
 */

const NOW = new Date();
const { endTime: END } = timeRangeAt(NOW.getTime(), { period: 60, lag: 60, window: 300 });

let moto: MotoServer | undefined;
let sqs: SQSClient | undefined;
const opened: MetricsBackend[] = [];

async function makeQueue(name: string, messages: number): Promise<void> {
  assert.ok(sqs);
  const fifo = name.endsWith('.fifo');
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {},
    }),
  );
  for (let i = 0; i < messages; i += 10) {
    const entries = Array.from({ length: Math.min(10, messages - i) }, (_, j) => ({
      Id: `m${i + j}`,
      MessageBody: `job ${i + j}`,
      ...(fifo ? { MessageGroupId: `g${(i + j) % 3}` } : {}),
    }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
  }
}

before(async () => {
  if (!motoAvailability().available) return;
  moto = await startMoto();
  sqs = new SQSClient({ region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS });
  await makeQueue('orders.fifo', 7);
  await makeQueue('team-b-render', 4);
  await makeQueue('team-b-encode.fifo', 9);
  await makeQueue('team-b-upload', 2);
  await makeQueue('other', 50);
  const cloudwatch = new CloudWatchClient({ region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS });
  const ages: [string, number, number][] = [
    ['team-b-render', END - 150, 30],
    ['team-b-render', END - 30, 95],
    ['team-b-encode.fifo', END - 30, 410],
    ['orders.fifo', END - 90, 12],
  ];
  await cloudwatch.send(
    new PutMetricDataCommand({
      Namespace: 'AWS/SQS',
      MetricData: ages.map(([queue, seconds, value]) => ({
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: queue }],
        Timestamp: new Date(seconds * 1000),
        Value: value,
        Unit: 'Seconds',
      })),
    }),
  );
  cloudwatch.destroy();
});
after(async () => {
  await Promise.all(opened.map((b) => b.close?.()));
  sqs?.destroy();
  await moto?.stop();
});

async function startBackend(section: Record<string, unknown> = {}) {
  assert.ok(moto);
  const context = testBackendContext({ now: () => NOW });
  const config = sqsBackendSchema.parse({
    region: 'us-east-1',
    endpoint: moto.url,
    cloudWatchEndpoint: moto.url,
    allowQueues: ['orders.fifo', 'team-b-*'],
    ...section,
  });
  const backend = createSqsBackend(config, context, { aws: FAST_AWS });
  await backend.start?.();
  opened.push(backend);
  const read = async (metric: string, selector = '') => {
    assert.ok(backend.external);
    return backend.external.getExternalMetric(externalRequest(metric, selector));
  };
  return { context, read };
}

describe('SQS signals against moto', () => {
  test('a FIFO queue: backlog and age by queue-name', async (t) => {
    if (!requireMoto(t)) return;
    const { read } = await startBackend();
    const [backlog] = await read('sqs-queue-length', 'queue-name=orders.fifo');
    assert.deepEqual([backlog?.value, backlog?.labels], [7, { 'queue-name': 'orders.fifo' }]);
    const [age] = await read('sqs-oldest-message-age', 'queue-name=orders.fifo');
    assert.equal(age?.value, 12);
    // The datapoint at END-90 is in the minute starting END-120, which CloudWatch stamps it with.
    assert.deepEqual(age?.timestamp, new Date((END - 120) * 1000), 'stamped with the datapoint, not the request');
  });

  test('a queueNamePrefix metric sums (or maxes) every listed queue, FIFO included, from one ListQueues', async (t) => {
    if (!requireMoto(t)) return;
    const { read, context } = await startBackend({
      metrics: [
        { name: 'team-b-backlog', queueNamePrefix: 'team-b-' },
        { name: 'team-b-worst', queueNamePrefix: 'team-b-', aggregate: 'max' },
        { name: 'team-b-age', queueNamePrefix: 'team-b-', signal: 'oldestMessageAge', aggregate: 'max' },
      ],
    });
    for (let i = 0; i < 3; i++) {
      assert.equal((await read('team-b-backlog'))[0]?.value, 4 + 9 + 2);
      assert.equal((await read('team-b-worst'))[0]?.value, 9);
    }
    const listCalls = await counterValue(context.registry, 'hpa_metrics_adapter_aws_requests_total', {
      service: 'sqs',
      operation: 'ListQueues',
      outcome: 'success',
    });
    assert.equal(listCalls, 1, 'listed once at start, never per request');
    // team-b-upload has no age datapoint: the metric is 404 as a whole (its noData policy decides).
    await rejectsWithStatus(read('team-b-age'), 'NotFound', /ApproximateAgeOfOldestMessage.*team-b-upload/);
  });

  test('a list of queues and queue-name in (…): ages maxed, each queue allow-listed', async (t) => {
    if (!requireMoto(t)) return;
    const { read } = await startBackend({
      metrics: [
        {
          name: 'render-and-encode-age',
          queueNames: ['team-b-render', 'team-b-encode.fifo'],
          signal: 'oldestMessageAge',
          aggregate: 'max',
        },
      ],
    });
    assert.equal((await read('render-and-encode-age'))[0]?.value, 410);
    assert.equal((await read('sqs-oldest-message-age', 'queue-name in (team-b-render,orders.fifo)'))[0]?.value, 95);
    const [sum] = await read('sqs-queue-length', 'queue-name in (team-b-render,team-b-upload)');
    assert.equal(sum?.value, 6);
    assert.equal(sum?.labels['queue-name'], undefined, 'several queues: no single queue-name label');
    await rejectsWithStatus(
      read('sqs-queue-length', 'queue-name in (team-b-render,other)'),
      'Forbidden',
      /may not read SQS queue "other"/,
    );
  });
});
