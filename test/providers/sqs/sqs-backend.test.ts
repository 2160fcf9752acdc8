import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createQueryCache } from '../../../src/cache/lru-query-cache.js';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { type SqsBackendConfig, sqsBackendSchema } from '../../../src/providers/sqs/config.js';
import { createSqsBackend } from '../../../src/providers/sqs/sqs-backend.js';
import { counterValue, externalRequest, FAST_AWS, rejectsWithStatus } from '../../support/aws-backend-context.js';
import { SqsDouble } from '../../support/aws-sqs-double.js';
import { type TestBackendContext, testBackendContext } from '../../support/backend-context.js';

const NOW = new Date('2026-03-01T12:00:00Z');

let sqs: SqsDouble;
const opened: MetricsBackend[] = [];

before(async () => {
  sqs = await SqsDouble.start();
});
after(async () => {
  await Promise.all(opened.map((b) => b.close?.()));
  await sqs.close();
});
beforeEach(() => {
  sqs.reset();
  sqs.setQueue('jobs', { visible: 5, inFlight: 2, delayed: 1 });
});

async function startBackend(
  section: Record<string, unknown> = {},
  context: TestBackendContext = testBackendContext({ now: () => NOW }),
): Promise<{ backend: MetricsBackend; context: TestBackendContext; config: SqsBackendConfig }> {
  const config = sqsBackendSchema.parse({
    region: 'us-east-1',
    endpoint: sqs.url,
    maxAttempts: 3,
    timeoutMs: 1000,
    allowQueues: ['jobs', 'team-a-*', 'report?'],
    ...section,
  });
  const backend = createSqsBackend(config, context, { aws: FAST_AWS });
  await backend.start?.();
  opened.push(backend);
  return { backend, context, config };
}

function read(backend: MetricsBackend, metric: string, selector = '', namespace = 'default') {
  assert.ok(backend.external);
  return backend.external.getExternalMetric(externalRequest(metric, selector, namespace));
}

describe('sqs-queue-length', () => {
  test('answers the visible count by default, labelled with the selector labels and queue-name', async () => {
    const { backend } = await startBackend();
    const samples = await read(backend, 'sqs-queue-length', 'queue-name=jobs');
    assert.deepEqual(samples, [{ labels: { 'queue-name': 'jobs' }, value: 5, timestamp: NOW }]);
    assert.deepEqual(sqs.callsOf('GetQueueAttributes')[0]?.body, {
      QueueUrl: sqs.queueUrl('jobs'),
      AttributeNames: ['ApproximateNumberOfMessages'],
    });
  });

  test('sums visible, in-flight and delayed when configured, asking SQS for exactly those attributes', async () => {
    const { backend } = await startBackend({ queueLengthMetric: { include: ['delayed', 'visible', 'inFlight'] } });
    const [sample] = await read(backend, 'sqs-queue-length', 'queue-name=jobs,region=us-east-1');
    assert.equal(sample?.value, 8);
    assert.deepEqual(sample?.labels, { 'queue-name': 'jobs', region: 'us-east-1' });
    assert.deepEqual(sqs.callsOf('GetQueueAttributes')[0]?.body.AttributeNames, [
      'ApproximateNumberOfMessages',
      'ApproximateNumberOfMessagesNotVisible',
      'ApproximateNumberOfMessagesDelayed',
    ]);
  });

  test('looks a queue URL up once for many requests, sequential and concurrent', async () => {
    const { backend } = await startBackend();
    await read(backend, 'sqs-queue-length', 'queue-name=jobs');
    await Promise.all(Array.from({ length: 10 }, () => read(backend, 'sqs-queue-length', 'queue-name=jobs')));
    assert.equal(sqs.callsOf('GetQueueUrl').length, 1);
    assert.deepEqual(sqs.callsOf('GetQueueUrl')[0]?.body, { QueueName: 'jobs' });
    assert.equal(sqs.callsOf('GetQueueAttributes').length, 11);
  });

  test('with the real query cache, concurrent requests for one queue make one GetQueueAttributes call', async () => {
    const context = testBackendContext({ now: () => NOW });
    context.cache = createQueryCache(
      'sqs',
      { ttlMs: 15_000, maxStaleMs: 60_000, negativeTtlMs: 0, maxEntries: 100, maxBytes: 1 << 20 },
      { registry: context.registry },
    );
    const { backend } = await startBackend({}, context);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => read(backend, 'sqs-queue-length', 'queue-name=jobs')),
    );
    assert.ok(results.every((r) => r[0]?.value === 5));
    assert.equal(sqs.callsOf('GetQueueAttributes').length, 1);
  });

  test('asks GetQueueUrl with the owner account when account-id is given', async () => {
    sqs.setQueue('jobs', { visible: 9 }, '123456789012');
    const { backend } = await startBackend();
    const [sample] = await read(backend, 'sqs-queue-length', 'queue-name=jobs,account-id=123456789012');
    assert.equal(sample?.value, 9);
    assert.deepEqual(sqs.callsOf('GetQueueUrl')[0]?.body, {
      QueueName: 'jobs',
      QueueOwnerAWSAccountId: '123456789012',
    });
  });

  test('signs requests for the region named by the region label', async () => {
    const { backend } = await startBackend();
    await read(backend, 'sqs-queue-length', 'queue-name=jobs,region=eu-west-2');
    assert.match(String(sqs.calls[0]?.headers.authorization), /\/eu-west-2\/sqs\/aws4_request/);
  });

  test('a missing queue is 404 naming it, and the failed lookup is not remembered', async () => {
    sqs.deleteQueue('jobs');
    const { backend } = await startBackend();
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs'),
      'NotFound',
      /SQS queue "jobs" does not exist/,
    );
    sqs.setQueue('jobs', { visible: 3 });
    const [sample] = await read(backend, 'sqs-queue-length', 'queue-name=jobs');
    assert.equal(sample?.value, 3);
    assert.equal(sqs.callsOf('GetQueueUrl').length, 2);
  });

  test('a queue deleted after its URL was resolved is 404, and its URL is looked up again later', async () => {
    const { backend } = await startBackend();
    await read(backend, 'sqs-queue-length', 'queue-name=jobs');
    sqs.deleteQueue('jobs');
    await rejectsWithStatus(read(backend, 'sqs-queue-length', 'queue-name=jobs'), 'NotFound', /queue "jobs"/);
    sqs.setQueue('jobs', { visible: 1 });
    await read(backend, 'sqs-queue-length', 'queue-name=jobs');
    assert.equal(sqs.callsOf('GetQueueUrl').length, 2);
  });
});

describe('selectors and access rules', () => {
  test('a selector without queue-name is 400 saying the label is required', async () => {
    const { backend } = await startBackend();
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', ''),
      'BadRequest',
      /needs the label selector queue-name=<queue name>/,
    );
    await rejectsWithStatus(read(backend, 'sqs-queue-length', 'region=us-east-1'), 'BadRequest', /queue-name=/);
  });

  test('unknown labels, non-equality requirements and malformed values are 400', async () => {
    const { backend } = await startBackend();
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs,env=prod'),
      'BadRequest',
      /"env" is not one of them/,
    );
    await rejectsWithStatus(read(backend, 'sqs-queue-length', 'queue-name!=jobs'), 'BadRequest', /queue-name=<value>/);
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs,account-id=12'),
      'BadRequest',
      /12-digit/,
    );
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs,region=moon'),
      'BadRequest',
      /not an AWS region/,
    );
    assert.equal(sqs.calls.length, 0);
  });

  test('a queue outside allowQueues is 403 naming the rule, before any AWS call', async () => {
    const { backend } = await startBackend();
    const error = await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=payroll'),
      'Forbidden',
      /may not read SQS queue "payroll": sqs.allowQueues allows only "jobs", "team-a-\*", "report\?"/,
    );
    assert.equal(error.code, 403);
    sqs.setQueue('team-a-emails', { visible: 4 });
    sqs.setQueue('report1', { visible: 6 });
    assert.equal((await read(backend, 'sqs-queue-length', 'queue-name=team-a-emails'))[0]?.value, 4);
    assert.equal((await read(backend, 'sqs-queue-length', 'queue-name=report1'))[0]?.value, 6);
    await rejectsWithStatus(read(backend, 'sqs-queue-length', 'queue-name=report10'), 'Forbidden', /allowQueues/);
    assert.equal(sqs.callsOf('GetQueueUrl').length, 2);
  });

  test('an empty allowQueues denies every queue of the generic metric', async () => {
    const { backend } = await startBackend({ allowQueues: [] });
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs'),
      'Forbidden',
      /sqs.allowQueues is empty/,
    );
  });

  test('a namespace not allowed for the metric is 403 naming the rule', async () => {
    const { backend } = await startBackend({
      queueLengthMetric: { namespaces: ['batch'] },
      metrics: [{ name: 'jobs-depth', queueName: 'jobs', namespaces: ['workers'] }],
    });
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs', 'web'),
      'Forbidden',
      /namespace "web": sqs.queueLengthMetric.namespaces allows only batch/,
    );
    await rejectsWithStatus(
      read(backend, 'jobs-depth', '', 'web'),
      'Forbidden',
      /namespace "web": sqs.metrics\[0\].namespaces allows only workers/,
    );
    assert.equal((await read(backend, 'jobs-depth', '', 'workers'))[0]?.value, 5);
  });
});

describe('named metrics', () => {
  test('a named metric reads its queue, announced in discovery next to the generic ones', async () => {
    const { backend } = await startBackend({
      metrics: [{ name: 'jobs-backlog', queueName: 'jobs', include: ['visible', 'inFlight'] }],
    });
    assert.deepEqual(backend.external?.listExternalMetrics(), [
      { metric: 'jobs-backlog' },
      { metric: 'sqs-queue-length' },
      { metric: 'sqs-oldest-message-age' },
    ]);
    assert.deepEqual(await read(backend, 'jobs-backlog'), [
      { labels: { 'queue-name': 'jobs' }, value: 7, timestamp: NOW },
    ]);
  });

  test('a named metric with a queueUrl makes no GetQueueUrl call', async () => {
    const { backend } = await startBackend({
      metrics: [{ name: 'by-url', queueUrl: sqs.queueUrl('jobs'), include: ['delayed'] }],
      queueLengthMetric: { enabled: false },
      oldestMessageAgeMetric: { enabled: false },
    });
    assert.deepEqual(backend.external?.listExternalMetrics(), [{ metric: 'by-url' }]);
    assert.equal((await read(backend, 'by-url'))[0]?.value, 1);
    assert.equal(sqs.callsOf('GetQueueUrl').length, 0);
  });

  test("a named metric's real AWS queue URL decides the region its requests are signed for", async () => {
    // The doubles and moto hand out loopback URLs; a real one names its region in the host name.
    sqs.setQueue('jobs', { visible: 6 }, '123456789012');
    const { backend } = await startBackend({
      metrics: [{ name: 'ireland', queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs' }],
      queueLengthMetric: { enabled: false },
    });
    assert.equal((await read(backend, 'ireland'))[0]?.value, 6);
    assert.equal(sqs.callsOf('GetQueueUrl').length, 0);
    const [call] = sqs.callsOf('GetQueueAttributes');
    assert.match(String(call?.headers.authorization), /\/eu-west-1\/sqs\/aws4_request/);
  });

  test("a named metric's selector only narrows: naming another queue selects nothing", async () => {
    const { backend } = await startBackend({ metrics: [{ name: 'jobs-backlog', queueName: 'jobs' }] });
    assert.deepEqual(await read(backend, 'jobs-backlog', 'queue-name=other'), []);
    assert.deepEqual((await read(backend, 'jobs-backlog', 'env=prod'))[0]?.labels, {
      env: 'prod',
      'queue-name': 'jobs',
    });
  });
});

describe('AWS failures', () => {
  test('throttling is retried by the SDK, each attempt numbered in amz-sdk-request', async () => {
    const { backend, context } = await startBackend();
    sqs.failNext('GetQueueAttributes', { kind: 'throttle' }, 2);
    assert.equal((await read(backend, 'sqs-queue-length', 'queue-name=jobs'))[0]?.value, 5);
    const attempts = sqs.callsOf('GetQueueAttributes').map((c) => `${c.attempt}/${c.maxAttempts}`);
    assert.deepEqual(attempts, ['1/3', '2/3', '3/3']);
    const labels = { service: 'sqs', operation: 'GetQueueAttributes' };
    assert.equal(await counterValue(context.registry, 'hpa_metrics_adapter_aws_retries_total', labels), 2);
    assert.equal(
      await counterValue(context.registry, 'hpa_metrics_adapter_aws_requests_total', { ...labels, outcome: 'success' }),
      1,
    );
  });

  test('throttling past maxAttempts is 503 naming service, operation and AWS message', async () => {
    const { backend, context } = await startBackend();
    sqs.failNext('GetQueueAttributes', { kind: 'throttle' }, 10);
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs'),
      'ServiceUnavailable',
      /SQS GetQueueAttributes for SQS queue "jobs" failed after 3 attempts \(throttled\): Throttling: Rate exceeded/,
    );
    assert.equal(sqs.callsOf('GetQueueAttributes').length, 3);
    const labels = { service: 'sqs', operation: 'GetQueueAttributes', outcome: 'throttled' };
    assert.equal(await counterValue(context.registry, 'hpa_metrics_adapter_aws_requests_total', labels), 1);
  });

  test('an answer larger than 32 MiB is cut off while it arrives and fails as 503, never buffered whole', async () => {
    // A deadline long enough for 32 MiB to arrive on a loaded machine: the byte limit is under test.
    const { backend } = await startBackend({ maxAttempts: 1, timeoutMs: 30_000 });
    const heapBefore = process.memoryUsage().heapUsed;
    sqs.failNext('GetQueueUrl', { kind: 'huge', bytes: 600 * 1024 * 1024 });
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs'),
      'ServiceUnavailable',
      /SQS GetQueueUrl for SQS queue "jobs" failed .*answer larger than the limit of 32 MiB/,
    );
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 200 * 1024 * 1024, 'the 600 MB were not held');
    assert.equal((await read(backend, 'sqs-queue-length', 'queue-name=jobs'))[0]?.value, 5, 'the next call works');
  });

  test('5xx answers are retried, then 503', async () => {
    const { backend } = await startBackend({ maxAttempts: 2 });
    sqs.failNext('GetQueueUrl', { kind: 'status', status: 500, message: 'We encountered an internal error' }, 5);
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs'),
      'ServiceUnavailable',
      /SQS GetQueueUrl for SQS queue "jobs" failed after 2 attempts \(server error\): .*internal error/,
    );
    assert.deepEqual(
      sqs.callsOf('GetQueueUrl').map((c) => c.attempt),
      [1, 2],
    );
  });

  test('an invalid parameter is 400 with AWS message and is not retried', async () => {
    const { backend } = await startBackend();
    sqs.failNext('GetQueueAttributes', {
      kind: 'status',
      status: 400,
      type: 'InvalidParameterValue',
      message: 'Value x for parameter QueueUrl is invalid.',
      queryError: 'InvalidParameterValue;Sender',
    });
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs'),
      'BadRequest',
      /refused by AWS: InvalidParameterValue: Value x for parameter QueueUrl is invalid\./,
    );
    assert.equal(sqs.callsOf('GetQueueAttributes').length, 1);
  });

  test('a slow SQS times out on every attempt and answers 503 without waiting for it', async () => {
    const { backend } = await startBackend({ timeoutMs: 150, maxAttempts: 2 });
    sqs.failNext('GetQueueUrl', { kind: 'delay', ms: 5000 }, 5);
    const started = Date.now();
    // What happened: both attempts were made and the error names the timeout.
    await rejectsWithStatus(read(backend, 'sqs-queue-length', 'queue-name=jobs'), 'ServiceUnavailable', /\(timeout\)/);
    assert.equal(sqs.callsOf('GetQueueUrl').length, 2);
    // A hang-only bound: the 5 s answers were not awaited (2 × 150 ms expected; loose for a loaded machine).
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 4500, `took ${elapsed} ms`);
  });

  test('a connection reset is retried, then 503', async () => {
    const { backend } = await startBackend();
    sqs.failNext('GetQueueUrl', { kind: 'reset' }, 3);
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs'),
      'ServiceUnavailable',
      /network error/,
    );
  });

  test('no region anywhere is 503 saying how to set one', async (t) => {
    if (process.env.AWS_REGION) return t.skip('AWS_REGION is set in this environment');
    const { backend } = await startBackend({ region: undefined });
    await rejectsWithStatus(
      read(backend, 'sqs-queue-length', 'queue-name=jobs'),
      'ServiceUnavailable',
      /no AWS region is configured \(set sqs.region in the config or AWS_REGION\)/,
    );
  });

  test('refused credentials are 503 pointing at the IAM setup', async () => {
    const { backend } = await startBackend();
    sqs.failNext('GetQueueUrl', {
      kind: 'status',
      status: 400,
      type: 'com.amazon.coral.service#AccessDeniedException',
      message: 'User is not authorized to perform: sqs:getqueueurl',
    });
    await rejectsWithStatus(read(backend, 'sqs-queue-length', 'queue-name=jobs'), 'ServiceUnavailable', /IAM policy/);
  });
});
