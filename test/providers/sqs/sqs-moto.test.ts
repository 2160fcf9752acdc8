import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ApiError } from '../../../src/api/errors.js';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { sqsBackendSchema } from '../../../src/providers/sqs/config.js';
import { createSqsBackend } from '../../../src/providers/sqs/sqs-backend.js';
import { counterValue, externalRequest, FAST_AWS, TEST_CREDENTIALS } from '../../support/aws-backend-context.js';
import { testBackendContext } from '../../support/backend-context.js';
import { type MotoServer, motoAvailability, requireMoto, startMoto } from '../../support/moto.js';

// moto's default account.
const ACCOUNT = '123456789012';

let moto: MotoServer | undefined;
let admin: SQSClient | undefined;
const opened: MetricsBackend[] = [];

before(async () => {
  if (!motoAvailability().available) return;
  moto = await startMoto();
  admin = new SQSClient({ region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS });
});
after(async () => {
  await Promise.all(opened.map((b) => b.close?.()));
  admin?.destroy();
  await moto?.stop();
});

/** A queue holding `visible` visible, `inFlight` received and `delayed` delayed messages. */
async function makeQueue(name: string, visible: number, inFlight = 0, delayed = 0): Promise<string> {
  assert.ok(admin);
  const { QueueUrl } = await admin.send(new CreateQueueCommand({ QueueName: name }));
  assert.ok(QueueUrl);
  const total = visible + inFlight;
  for (let i = 0; i < total; i += 10) {
    const entries = Array.from({ length: Math.min(10, total - i) }, (_, j) => ({
      Id: `m${i + j}`,
      MessageBody: 'job',
    }));
    await admin.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
  }
  let received = 0;
  while (received < inFlight) {
    const batch = await admin.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: Math.min(10, inFlight - received),
        VisibilityTimeout: 600,
      }),
    );
    received += batch.Messages?.length ?? 0;
  }
  for (let i = 0; i < delayed; i++) {
    await admin.send(new SendMessageCommand({ QueueUrl, MessageBody: 'later', DelaySeconds: 600 }));
  }
  return QueueUrl;
}

async function startBackend(section: Record<string, unknown> = {}) {
  assert.ok(moto);
  const context = testBackendContext();
  const config = sqsBackendSchema.parse({ region: 'us-east-1', endpoint: moto.url, allowQueues: ['*'], ...section });
  const backend = createSqsBackend(config, context, { aws: FAST_AWS });
  await backend.start?.();
  opened.push(backend);
  const read = async (metric: string, selector = '') => {
    assert.ok(backend.external);
    return backend.external.getExternalMetric(externalRequest(metric, selector));
  };
  return { backend, context, read };
}

describe('SQS backend against moto', () => {
  test('sqs-queue-length is the visible count', async (t) => {
    if (!requireMoto(t)) return;
    await makeQueue('moto-visible', 7);
    const { read } = await startBackend();
    const [sample] = await read('sqs-queue-length', 'queue-name=moto-visible');
    assert.equal(sample?.value, 7);
    assert.deepEqual(sample?.labels, { 'queue-name': 'moto-visible' });
  });

  test('visible, in-flight and delayed counts add up as configured', async (t) => {
    if (!requireMoto(t)) return;
    await makeQueue('moto-mixed', 3, 2, 1);
    const { read } = await startBackend({
      metrics: [
        { name: 'visible-only', queueName: 'moto-mixed' },
        { name: 'with-in-flight', queueName: 'moto-mixed', include: ['visible', 'inFlight'] },
        { name: 'everything', queueName: 'moto-mixed', include: ['visible', 'inFlight', 'delayed'] },
      ],
    });
    assert.equal((await read('visible-only'))[0]?.value, 3);
    assert.equal((await read('with-in-flight'))[0]?.value, 5);
    assert.equal((await read('everything'))[0]?.value, 6);
  });

  test('the queue URL is looked up once for many requests', async (t) => {
    if (!requireMoto(t)) return;
    await makeQueue('moto-cached', 1);
    const { read, context } = await startBackend();
    for (let i = 0; i < 5; i++) await read('sqs-queue-length', 'queue-name=moto-cached');
    const count = (operation: string) =>
      counterValue(context.registry, 'hpa_metrics_adapter_aws_requests_total', {
        service: 'sqs',
        operation,
        outcome: 'success',
      });
    assert.equal(await count('GetQueueUrl'), 1);
    assert.equal(await count('GetQueueAttributes'), 5);
  });

  test('account-id asks for the queue of that owner', async (t) => {
    if (!requireMoto(t)) return;
    await makeQueue('moto-owned', 2);
    const { read } = await startBackend();
    const [sample] = await read('sqs-queue-length', `queue-name=moto-owned,account-id=${ACCOUNT}`);
    assert.equal(sample?.value, 2);
  });

  test('a named metric may give the queue URL instead of its name', async (t) => {
    if (!requireMoto(t)) return;
    const url = await makeQueue('moto-by-url', 4);
    const { read } = await startBackend({ metrics: [{ name: 'by-url', queueUrl: url }] });
    assert.deepEqual((await read('by-url'))[0]?.labels, { 'queue-name': 'moto-by-url' });
    assert.equal((await read('by-url'))[0]?.value, 4);
  });

  test('a missing queue is 404 naming it', async (t) => {
    if (!requireMoto(t)) return;
    const { read } = await startBackend();
    await assert.rejects(
      read('sqs-queue-length', 'queue-name=moto-missing'),
      (e: unknown) =>
        e instanceof ApiError && e.code === 404 && /SQS queue "moto-missing" does not exist/.test(e.message),
    );
  });
});
