import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runExplain } from '../../src/cli/explain.js';
import { TEST_CREDENTIALS } from '../support/aws-backend-context.js';
import { CloudWatchDouble } from '../support/aws-cloudwatch-double.js';
import { SqsDouble } from '../support/aws-sqs-double.js';

/**
 * `explain` for every kind of AWS metric: the request as sent, the value, and the monthly cost
 * at the configured TTL and replica count (30-day month, HPA sync 15 s).
 */

let sqs: SqsDouble;
let cloudwatch: CloudWatchDouble;
let dir: string;
let configPath: string;
const saved = { ...process.env };

before(async () => {
  sqs = await SqsDouble.start();
  cloudwatch = await CloudWatchDouble.start();
  sqs.setQueue('jobs', { visible: 5, inFlight: 2 });
  sqs.setQueue('mail', { visible: 3 });
  const minute = Math.floor(Date.now() / 60_000) * 60 - 120;
  cloudwatch.put(
    { namespace: 'AWS/SQS', metricName: 'ApproximateAgeOfOldestMessage', dimensions: { QueueName: 'jobs' } },
    [{ timestamp: minute, value: 42 }],
  );
  cloudwatch.put({ namespace: 'App', metricName: 'Latency', dimensions: {} }, [{ timestamp: minute, value: 7 }]);
  dir = await mkdtemp(join(tmpdir(), 'explain-aws-'));
  configPath = join(dir, 'config.yaml');
  await writeFile(
    configPath,
    `
sqs:
  region: us-east-1
  endpoint: ${sqs.url}
  cloudWatchEndpoint: ${cloudwatch.url}
  allowQueues: [jobs, mail]
  metrics:
    - { name: both-backlog, queueNames: [jobs, mail], include: [visible, inFlight] }
cloudwatch:
  region: us-east-1
  endpoint: ${cloudwatch.url}
  failurePolicy: { noData: zero }
  metrics:
    - name: latency-ratio
      queries:
        - { id: a, returnData: false, metricStat: { namespace: App, metricName: Latency, stat: Sum } }
        - { id: b, returnData: false, metricStat: { namespace: App, metricName: Latency, stat: SampleCount } }
        - { id: r, expression: a / b, returnData: true }
cache:
  default: { ttl: 30s }
`,
  );
  // The backends take credentials from the SDK's default chain, as when serving.
  process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
});
after(async () => {
  process.env = saved;
  await sqs.close();
  await cloudwatch.close();
  await rm(dir, { recursive: true, force: true });
});

async function explain(...argv: string[]): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const code = await runExplain(['--config', configPath, ...argv], out);
  return { code, text };
}

describe('explain for AWS metrics', () => {
  it('the generic queue length: the GetQueueAttributes request, the value and the cost', async () => {
    const { code, text } = await explain('sqs-queue-length', '--metric-selector', 'queue-name=jobs');
    assert.equal(code, 0, text);
    assert.match(
      text,
      new RegExp(
        `request: GetQueueAttributes \\{"QueueUrl":"${sqs.queueUrl('jobs')}","AttributeNames":\\["ApproximateNumberOfMessages"\\]\\}`,
      ),
    );
    assert.match(text, /value: 5 at /);
    // HPA-aware refresh (the default): 2,592,000 s / 29 s (the 30 s ttl less the 1 s lead) × 2 replicas
    // = 178,759 reads, one request each: $0.0715.
    assert.match(text, /HPA-aware refresh \(--hpa-refresh=all, the default\)/);
    assert.match(text, /per month: 178,759 reads, 178,759 SQS requests, 0 CloudWatch metrics = \$0\.07/);
    assert.match(text, /1,000 HPAs .*: \$71\.50 a month/);
  });

  it('--hpa-refresh=leader: the Lease holder refreshes, the other replica reads at most at the poll cadence', async () => {
    const args = ['sqs-queue-length', '--metric-selector', 'queue-name=jobs', '--hpa-refresh', 'leader'];
    const { code, text } = await explain(...args);
    assert.equal(code, 0, text);
    assert.match(text, /the Lease holder reads a key every 29s: HPA-aware refresh \(--hpa-refresh=leader\)/);
    assert.match(text, /each of the 1 other replica\(s\) at most every 30s, when polls reach it/);
    // 2,592,000 s / 29 s on the holder + 2,592,000 s / 30 s on the other = 89,379 + 86,400 = 175,779 reads.
    assert.match(text, /per month: at most 175,779 reads, 175,779 SQS requests, 0 CloudWatch metrics = \$0\.07/);
    assert.match(text, /1,000 HPAs .*: at most \$70\.31 a month/);
  });

  it('a named metric over two queues: two requests, summed; --replicas and --sqs-price change the estimate', async () => {
    const { code, text } = await explain(
      'both-backlog',
      '--replicas',
      '3',
      '--sqs-price',
      '0.5',
      '--hpa-refresh',
      'off',
    );
    assert.equal(code, 0, text);
    assert.equal(text.match(/request: GetQueueAttributes/g)?.length, 2);
    assert.match(text, /value: 10 at /);
    // 2,592,000 / 30 × 3 = 259,200 reads × 2 requests = 518,400 requests × $0.5/M = $0.26.
    assert.match(text, /per month: 259,200 reads, 518,400 SQS requests, 0 CloudWatch metrics = \$0\.26/);
  });

  it('the oldest message age: the GetMetricData query, billed as one CloudWatch metric', async () => {
    const { code, text } = await explain(
      'sqs-oldest-message-age',
      '--metric-selector',
      'queue-name=jobs',
      '--hpa-refresh',
      'off',
    );
    assert.equal(code, 0, text);
    assert.match(
      text,
      /request: GetMetricData \{"MetricDataQueries":\[\{"Id":"age","ReturnData":true,"MetricStat":\{"Metric":\{"Namespace":"AWS\/SQS","MetricName":"ApproximateAgeOfOldestMessage","Dimensions":\[\{"Name":"QueueName","Value":"jobs"\}\]\},"Period":60,"Stat":"Maximum"\}\}\],"startTime":\d+,"endTime":\d+\}/,
    );
    assert.match(text, /value: 42 at /);
    assert.match(text, /172,800 reads, 0 SQS requests, 172,800 CloudWatch metrics = \$1\.73/);
  });

  it('a CloudWatch metric with metric math: two billed metrics per read, and its failure policy', async () => {
    const { code, text } = await explain('latency-ratio', '--hpa-refresh', 'off');
    assert.equal(code, 0, text);
    assert.match(text, /value: 7 at /, 'Sum 7 over SampleCount 1');
    assert.match(text, /request: GetMetricData \{"MetricDataQueries":\[\{"Id":"a"/);
    assert.match(text, /failure policy: \{"onError":"lastGood","noData":0\}/);
    assert.match(text, /per read: 0 SQS request\(s\), 2 CloudWatch metric\(s\); ttl 30s, 2 replica\(s\)/);
    assert.match(text, /345,600 CloudWatch metrics = \$3\.46/);
  });

  it('a bad flag value is a usage error', async () => {
    const { code, text } = await explain('sqs-queue-length', '--replicas', 'two');
    assert.equal(code, 2);
    assert.match(text, /--replicas: expected a positive number, got "two"/);
  });
});
