import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AwsBackendOptions } from '../../../src/providers/aws/backend-base.js';
import { AwsCredentialSources } from '../../../src/providers/aws/credential-sources.js';
import { createCloudWatchBackend } from '../../../src/providers/cloudwatch/cloudwatch-backend.js';
import { cloudWatchBackendSchema } from '../../../src/providers/cloudwatch/config.js';
import type { ExternalSample, MetricsBackend } from '../../../src/providers/provider.js';
import { sqsBackendSchema } from '../../../src/providers/sqs/config.js';
import { createSqsBackend } from '../../../src/providers/sqs/sqs-backend.js';
import {
  counterValue,
  externalRequest,
  FAST_AWS,
  rejectsWithStatus,
  TEST_CREDENTIALS,
} from '../../support/aws-backend-context.js';
import { CloudWatchDouble } from '../../support/aws-cloudwatch-double.js';
import { SqsDouble } from '../../support/aws-sqs-double.js';
import { StsDouble } from '../../support/aws-sts-double.js';
import { testBackendContext } from '../../support/backend-context.js';
import { type MotoServer, motoAvailability, requireMoto, startMoto } from '../../support/moto.js';

/**
 * Other accounts: the `account-id` label (or a metric's accountId) picks the role to assume;
 * the role is assumed once and again before its credentials expire; an account without a role
 * is a 403 saying so.
 */

const OTHER = '210987654321';
const ROLE = `arn:aws:iam::${OTHER}:role/hpa-metrics-reader`;
const ASSUME_ROLE = { service: 'sts', operation: 'AssumeRole', outcome: 'success' };

let sts: StsDouble;
let sqs: SqsDouble;
let cloudwatch: CloudWatchDouble;
const opened: MetricsBackend[] = [];

before(async () => {
  sts = await StsDouble.start();
  sqs = await SqsDouble.start();
  cloudwatch = await CloudWatchDouble.start();
});
after(async () => {
  await Promise.all(opened.map((b) => b.close?.()));
  await Promise.all([sts.close(), sqs.close(), cloudwatch.close()]);
});
beforeEach(() => {
  sts.calls.length = 0;
  sts.lifetimeMs = 3_600_000;
  sts.deny = undefined;
  sqs.reset();
  sqs.setQueue('jobs', { visible: 4 }, OTHER);
  sqs.setQueue('jobs', { visible: 1 });
});

async function sqsBackend(section: Record<string, unknown>, options: AwsBackendOptions = { aws: FAST_AWS }) {
  const context = testBackendContext();
  const config = sqsBackendSchema.parse({
    region: 'us-east-1',
    endpoint: sqs.url,
    stsEndpoint: sts.url,
    maxAttempts: 1,
    allowQueues: ['jobs'],
    ...section,
  });
  const backend = createSqsBackend(config, context, options);
  await backend.start?.();
  opened.push(backend);
  const read = async (selector: string) => {
    assert.ok(backend.external);
    return (await backend.external.getExternalMetric(externalRequest('sqs-queue-length', selector)))[0]?.value;
  };
  return { context, read, backend };
}

function read(backend: MetricsBackend, metric: string, selector = '') {
  assert.ok(backend.external);
  return backend.external.getExternalMetric(externalRequest(metric, selector));
}

/** The access key an SQS call was signed with. */
const signedBy = (call: { headers: Record<string, unknown> }) =>
  /Credential=([A-Z0-9]+)\//.exec(String(call.headers.authorization))?.[1];

describe('roles against the wire doubles', () => {
  test("the role is assumed once for many calls, with its external id, and signs only that account's calls", async () => {
    const { context, read } = await sqsBackend({ accounts: { [OTHER]: { roleArn: ROLE, externalId: 'team-a-42' } } });
    for (let i = 0; i < 5; i++) assert.equal(await read(`queue-name=jobs,account-id=${OTHER}`), 4);
    assert.equal(await read('queue-name=jobs'), 1, "no account-id: the adapter's own account and credentials");
    assert.equal(sts.calls.length, 1);
    assert.deepEqual(
      { ...sts.calls[0], accessKeyId: undefined },
      {
        roleArn: ROLE,
        externalId: 'team-a-42',
        sessionName: 'hpa-metrics-adapter',
        durationSeconds: 3600,
        accessKeyId: undefined,
      },
    );
    const attributeCalls = sqs.callsOf('GetQueueAttributes');
    const other = attributeCalls.filter((c) => String(c.body.QueueUrl).includes(`/${OTHER}/`));
    const own = attributeCalls.filter((c) => !String(c.body.QueueUrl).includes(`/${OTHER}/`));
    assert.deepEqual(new Set(other.map(signedBy)), new Set(['ASIATEST1']));
    assert.deepEqual(new Set(own.map(signedBy)), new Set([TEST_CREDENTIALS.accessKeyId]));
    assert.equal(await counterValue(context.registry, 'hpa_metrics_adapter_aws_requests_total', ASSUME_ROLE), 1);
  });

  test('credentials about to expire are renewed before the next call; calls meanwhile share one AssumeRole', async () => {
    // Renewal starts 5 minutes before expiry: credentials living 5 min + 1.5 s are renewed after 1.5 s.
    sts.lifetimeMs = 5 * 60_000 + 1500;
    const { read } = await sqsBackend({ accounts: { [OTHER]: { roleArn: ROLE } } });
    await Promise.all(Array.from({ length: 5 }, () => read(`queue-name=jobs,account-id=${OTHER}`)));
    assert.equal(sts.calls.length, 1);
    await new Promise((r) => setTimeout(r, 1700));
    assert.equal(await read(`queue-name=jobs,account-id=${OTHER}`), 4);
    assert.equal(sts.calls.length, 2);
    assert.equal(signedBy(sqs.callsOf('GetQueueAttributes').at(-1) ?? { headers: {} }), 'ASIATEST2');
  });

  test('credentials AWS calls expired mid-run are replaced: that call fails, the next assumes the role again', async () => {
    const { read } = await sqsBackend({ accounts: { [OTHER]: { roleArn: ROLE } } });
    assert.equal(await read(`queue-name=jobs,account-id=${OTHER}`), 4);
    sqs.failNext('GetQueueAttributes', {
      kind: 'status',
      status: 400,
      type: 'ExpiredToken',
      message: 'The security token included in the request is expired',
    });
    await rejectsWithStatus(read(`queue-name=jobs,account-id=${OTHER}`), 'ServiceUnavailable', /ExpiredToken/);
    assert.equal(await read(`queue-name=jobs,account-id=${OTHER}`), 4);
    assert.equal(sts.calls.length, 2);
    assert.equal(signedBy(sqs.callsOf('GetQueueAttributes').at(-1) ?? { headers: {} }), 'ASIATEST2');
  });

  test('an account without a role is 403 naming the account and the setting; nothing is sent', async () => {
    const { read } = await sqsBackend({ accounts: { [OTHER]: { roleArn: ROLE } } });
    await rejectsWithStatus(
      read('queue-name=jobs,account-id=111122223333'),
      'Forbidden',
      /account 111122223333 has no role configured: sqs.accounts lists only 210987654321 \(add sqs.accounts."111122223333".roleArn\)/,
    );
    assert.equal(sqs.calls.length, 0);
    assert.equal(sts.calls.length, 0);
  });

  test('a role STS refuses is 503 naming the role, and nothing is signed without it', async () => {
    sts.deny = 'not authorized to perform sts:AssumeRole';
    const { read } = await sqsBackend({ accounts: { [OTHER]: { roleArn: ROLE } } });
    await rejectsWithStatus(
      read(`queue-name=jobs,account-id=${OTHER}`),
      'ServiceUnavailable',
      /AssumeRole.*hpa-metrics-reader.*not authorized/,
    );
    assert.equal(sqs.callsOf('GetQueueAttributes').length, 0);
  });

  test('an AssumeRole that hangs is 503 naming the role at the fetch deadline; once STS answers, the next read assumes it', async () => {
    const sources = new AwsCredentialSources({ own: async () => TEST_CREDENTIALS, limits: { timeoutMs: 1000 } });
    const { read } = await sqsBackend(
      { accounts: { [OTHER]: { roleArn: ROLE } } },
      { aws: { ...FAST_AWS, credentialSources: sources } },
    );
    sts.hang = true;
    try {
      await rejectsWithStatus(
        Promise.all([1, 2, 3].map(() => read(`queue-name=jobs,account-id=${OTHER}`))),
        'ServiceUnavailable',
        /was not sent: getting AWS credentials from STS AssumeRole of role arn:aws:iam::210987654321:role\/hpa-metrics-reader for account 210987654321 failed: no answer within the 1000 ms deadline/,
      );
    } finally {
      sts.hang = false;
    }
    assert.equal(sqs.callsOf('GetQueueAttributes').length, 0, 'nothing is sent unsigned');
    assert.equal(await read(`queue-name=jobs,account-id=${OTHER}`), 4);
    assert.equal(sts.calls.length, 1);
  });

  test("a CloudWatch metric of another account is read with that account's role", async () => {
    const NOW = Date.parse('2026-03-01T12:00:30Z');
    cloudwatch.reset();
    cloudwatch.put({ namespace: 'App', metricName: 'Backlog' }, [{ timestamp: NOW / 1000 - 150, value: 6 }]);
    const context = testBackendContext({ now: () => new Date(NOW) });
    const config = cloudWatchBackendSchema.parse({
      region: 'us-east-1',
      endpoint: cloudwatch.url,
      stsEndpoint: sts.url,
      accounts: { [OTHER]: { roleArn: ROLE } },
      metrics: [
        {
          name: 'theirs',
          accountId: OTHER,
          queries: [{ id: 'm', metricStat: { namespace: 'App', metricName: 'Backlog', stat: 'Maximum' } }],
        },
        {
          name: 'stranger',
          accountId: '111122223333',
          queries: [{ id: 'm', metricStat: { namespace: 'App', metricName: 'Backlog', stat: 'Maximum' } }],
        },
      ],
    });
    const backend = createCloudWatchBackend(config, context, { aws: FAST_AWS });
    await backend.start?.();
    opened.push(backend);
    assert.ok(backend.external);
    assert.equal((await backend.external.getExternalMetric(externalRequest('theirs')))[0]?.value, 6);
    assert.equal(signedBy(cloudwatch.calls[0] ?? { headers: {} }), 'ASIATEST1');
    await rejectsWithStatus(
      backend.external.getExternalMetric(externalRequest('stranger')),
      'Forbidden',
      /account 111122223333 has no role/,
    );
  });
});

describe('one provider per role for the whole process', () => {
  const AGE = { namespace: 'AWS/SQS', metricName: 'ApproximateAgeOfOldestMessage', dimensions: { QueueName: 'jobs' } };

  test("an account the sqs section does not list is 403 naming sqs.accounts, for the age metric's CloudWatch read too", async () => {
    const { backend } = await sqsBackend({
      cloudWatchEndpoint: cloudwatch.url,
      accounts: { [OTHER]: { roleArn: ROLE } },
    });
    for (const metric of ['sqs-queue-length', 'sqs-oldest-message-age']) {
      await rejectsWithStatus(
        read(backend, metric, 'queue-name=jobs,account-id=111122223333'),
        'Forbidden',
        /account 111122223333 has no role configured: sqs\.accounts lists only 210987654321 \(add sqs\.accounts\."111122223333"\.roleArn\)/,
      );
    }
    assert.equal(sts.calls.length, 0);
  });

  test("the SQS client and the age metric's CloudWatch client of one account share one AssumeRole", async () => {
    cloudwatch.reset();
    cloudwatch.put(AGE, [{ timestamp: Math.floor(Date.now() / 1000) - 150, value: 42 }]);
    const { backend, context } = await sqsBackend({
      cloudWatchEndpoint: cloudwatch.url,
      accounts: { [OTHER]: { roleArn: ROLE } },
    });
    assert.equal((await read(backend, 'sqs-queue-length', `queue-name=jobs,account-id=${OTHER}`))[0]?.value, 4);
    assert.equal((await read(backend, 'sqs-oldest-message-age', `queue-name=jobs,account-id=${OTHER}`))[0]?.value, 42);
    assert.equal(sts.calls.length, 1);
    assert.equal(await counterValue(context.registry, 'hpa_metrics_adapter_aws_requests_total', ASSUME_ROLE), 1);
    assert.equal(signedBy(cloudwatch.calls.at(-1) ?? { headers: {} }), 'ASIATEST1');
  });

  test('an SQS and a CloudWatch backend reading one account assume its role once', async () => {
    const NOW = Date.now();
    cloudwatch.reset();
    cloudwatch.put({ namespace: 'App', metricName: 'Backlog' }, [
      { timestamp: Math.floor(NOW / 1000) - 150, value: 6 },
    ]);
    const sources = new AwsCredentialSources({ own: async () => TEST_CREDENTIALS });
    const shared = { aws: { ...FAST_AWS, credentialSources: sources } };
    const { backend: queues } = await sqsBackend({ accounts: { [OTHER]: { roleArn: ROLE } } }, shared);
    const metrics = createCloudWatchBackend(
      cloudWatchBackendSchema.parse({
        region: 'us-east-1',
        endpoint: cloudwatch.url,
        stsEndpoint: sts.url,
        accounts: { [OTHER]: { roleArn: ROLE } },
        metrics: [
          {
            name: 'theirs',
            accountId: OTHER,
            queries: [{ id: 'm', metricStat: { namespace: 'App', metricName: 'Backlog', stat: 'Maximum' } }],
          },
        ],
      }),
      testBackendContext({ now: () => new Date(NOW) }),
      shared,
    );
    await metrics.start?.();
    opened.push(metrics);
    assert.equal((await read(queues, 'sqs-queue-length', `queue-name=jobs,account-id=${OTHER}`))[0]?.value, 4);
    assert.equal((await read(metrics, 'theirs'))[0]?.value, 6);
    assert.equal(sts.calls.length, 1);
  });
});

describe('roles against moto (STS AssumeRole, SQS)', () => {
  let moto: MotoServer | undefined;
  before(async () => {
    if (motoAvailability().available) moto = await startMoto();
  });
  after(async () => moto?.stop());

  test("the role is assumed once and the other account's queue is read with it", async (t) => {
    if (!requireMoto(t) || !moto) return;
    // moto's default account owns queues created with plain test credentials.
    const account = '123456789012';
    const admin = new SQSClient({ region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS });
    const { QueueUrl } = await admin.send(new CreateQueueCommand({ QueueName: 'moto-cross' }));
    for (let i = 0; i < 3; i++) await admin.send(new SendMessageCommand({ QueueUrl, MessageBody: 'job' }));
    admin.destroy();
    const context = testBackendContext();
    const config = sqsBackendSchema.parse({
      region: 'us-east-1',
      endpoint: moto.url,
      stsEndpoint: moto.url,
      allowQueues: ['moto-*'],
      accounts: { [account]: { roleArn: `arn:aws:iam::${account}:role/reader`, externalId: 'x-1' } },
    });
    const backend = createSqsBackend(config, context, { aws: FAST_AWS });
    await backend.start?.();
    opened.push(backend);
    const { external } = backend;
    assert.ok(external);
    for (let i = 0; i < 3; i++) {
      const samples: readonly ExternalSample[] = await external.getExternalMetric(
        externalRequest('sqs-queue-length', `queue-name=moto-cross,account-id=${account}`),
      );
      assert.equal(samples[0]?.value, 3);
    }
    assert.equal(await counterValue(context.registry, 'hpa_metrics_adapter_aws_requests_total', ASSUME_ROLE), 1);
    await rejectsWithStatus(
      external.getExternalMetric(externalRequest('sqs-queue-length', 'queue-name=moto-cross,account-id=999999999999')),
      'Forbidden',
      /account 999999999999 has no role configured/,
    );
  });
});
