import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_YAML } from '../../src/config/default-config.js';
import { timeRangeAt } from '../../src/providers/cloudwatch/queries.js';
import { TEST_CREDENTIALS } from '../support/aws-backend-context.js';
import { explainProcess } from '../support/explain-process.js';
import { type MotoServer, motoAvailability, startMoto } from '../support/moto.js';

/**
 * Every whole HorizontalPodAutoscaler of README.md through the built `explain hpa --hpa-file`:
 * the SQS ones against moto with a known backlog (and age), the demo one against the built-in
 * config. The count each prints must be the controller's arithmetic for those values, computed
 * here from the HPA's own targets and bounds. (jobs-workers: test/e2e/scale-to-zero.test.ts.)
 */

interface Target {
  type: 'AverageValue' | 'Value';
  averageValue?: string;
  value?: string;
}
interface Hpa {
  metadata: { name: string };
  spec: {
    minReplicas: number;
    maxReplicas: number;
    metrics: {
      external: { metric: { name: string; selector: { matchLabels: Record<string, string> } }; target: Target };
    }[];
  };
}
interface Example {
  hpa: Hpa;
  /** The yaml text of the HPA and, when the README gives one, the config above it in its block. */
  hpaYaml: string;
  config?: string;
}

function readmeExamples(): Map<string, Example> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const examples = new Map<string, Example>();
  for (const [, block = ''] of readme.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const docs = block.split('\n---\n');
    docs.forEach((text, i) => {
      const doc = parse(text) as { kind?: string } | null;
      if (doc?.kind !== 'HorizontalPodAutoscaler') return;
      const hpa = doc as unknown as Hpa;
      examples.set(hpa.metadata.name, { hpa, hpaYaml: text, config: i > 0 ? docs[i - 1] : undefined });
    });
  }
  return examples;
}

const TOLERANCE = 0.1;

/** What the HPA controller sets from `current` replicas for these External values, one step. */
function controllerReplicas(hpa: Hpa, current: number, values: number[]): { proposals: number[]; result: number } {
  const proposals = hpa.spec.metrics.map(({ external: { target } }, i) => {
    const value = values[i] ?? Number.NaN;
    if (target.type === 'AverageValue') {
      const perPod = Number(target.averageValue);
      const ratio = value / (perPod * current);
      return Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(value / perPod);
    }
    const ratio = value / Number(target.value);
    return Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(ratio * current);
  });
  const upLimit = Math.max(2 * current, 4);
  const result = Math.max(hpa.spec.minReplicas, Math.min(Math.max(...proposals), hpa.spec.maxReplicas, upLimit));
  return { proposals, result };
}

const EXAMPLES = readmeExamples();
const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
};
const moto = motoAvailability();
let dir = '';
let sqs: MotoServer | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'readme-hpa-'));
});
after(async () => {
  await sqs?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Runs explain on the example at `current` replicas and checks its proposals and count. */
async function explainMatchesController(
  name: string,
  current: number,
  values: number[],
  config?: string,
  env: Record<string, string | undefined> = {},
): Promise<void> {
  const example = EXAMPLES.get(name);
  assert.ok(example, `README.md has the HPA ${name}`);
  const hpaPath = join(dir, `${name}.yaml`);
  await writeFile(hpaPath, example.hpaYaml);
  const argv = ['hpa', '--hpa-file', hpaPath, '--replicas', String(current)];
  if (config !== undefined) {
    const configPath = join(dir, `${name}-config.yaml`);
    await writeFile(configPath, config);
    argv.push('--config', configPath);
  }
  const { code, text } = await explainProcess(argv, env);
  assert.equal(code, 0, text);
  const expected = controllerReplicas(example.hpa, current, values);
  expected.proposals.forEach((proposal, i) => {
    const value = values[i];
    assert.match(
      text,
      new RegExp(`metric ${i + 1}:[\\s\\S]*?value: ${value}\\n {2}proposal: ${proposal} replicas`),
      `metric ${i + 1} of ${name} at ${value}`,
    );
  });
  assert.match(text, new RegExp(`^result: ${expected.result} replicas `, 'm'), text);
}

describe('README HPA examples: explain hpa gives the count the controller would set', () => {
  it('README.md has these whole HPAs, each tested here or in scale-to-zero.test.ts', () => {
    assert.deepEqual([...EXAMPLES.keys()].sort(), [
      'batch-processor',
      'jobs-workers',
      'queue-worker',
      'render-workers',
    ]);
  });

  it('queue-worker on the built-in demo-queue-depth', async () => {
    const demo = parse(DEFAULT_CONFIG_YAML) as {
      static: { external: { metric: string; series: { labels: Record<string, string>; value: number }[] }[] };
    };
    const series = demo.static.external
      .find((m) => m.metric === 'demo-queue-depth')
      ?.series.find((s) => s.labels.queue === 'jobs');
    assert.ok(series);
    await explainMatchesController('queue-worker', 3, [series.value]);
  });

  describe('on SQS (moto)', { skip: !moto.available && 'moto is not installed' }, () => {
    const awsEnv = () => ({ ...ENV, AWS_ENDPOINT_URL_SQS: sqs?.url, AWS_ENDPOINT_URL_CLOUDWATCH: sqs?.url });
    const RENDER_JOBS = { messages: 130, age: 450 };
    const JOBS = 95;

    before(async () => {
      if (!moto.available) return;
      sqs = await startMoto();
      const credentials = TEST_CREDENTIALS;
      const admin = new SQSClient({ region: ENV.AWS_REGION, endpoint: sqs.url, credentials });
      for (const [queue, count] of [
        ['render-jobs', RENDER_JOBS.messages],
        ['jobs', JOBS],
      ] as const) {
        const { QueueUrl } = await admin.send(new CreateQueueCommand({ QueueName: queue }));
        for (let i = 0; i < count; i += 10) {
          const Entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
            Id: `m${i + j}`,
            MessageBody: 'job',
          }));
          await admin.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
        }
      }
      admin.destroy();
      // moto publishes no SQS metrics: the age is a datapoint in the newest minute the adapter reads.
      const { endTime } = timeRangeAt(Date.now(), { period: 60, lag: 60, window: 300 });
      const cloudwatch = new CloudWatchClient({ region: ENV.AWS_REGION, endpoint: sqs.url, credentials });
      await cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: 'AWS/SQS',
          MetricData: [
            {
              MetricName: 'ApproximateAgeOfOldestMessage',
              Dimensions: [{ Name: 'QueueName', Value: 'render-jobs' }],
              Timestamp: new Date((endTime - 30) * 1000),
              Value: RENDER_JOBS.age,
              Unit: 'Seconds',
            },
          ],
        }),
      );
      cloudwatch.destroy();
    });

    it('render-workers on backlog and age, with the README config above it', async () => {
      const { config } = EXAMPLES.get('render-workers') ?? {};
      assert.ok(config, 'the example has its config');
      await explainMatchesController('render-workers', 3, [RENDER_JOBS.messages, RENDER_JOBS.age], config, awsEnv());
    });

    it('batch-processor on sqs-queue-length', async () => {
      const config = 'sqs:\n  allowQueues: ["jobs"]\n';
      await explainMatchesController('batch-processor', 2, [JOBS], config, awsEnv());
    });
  });
});
