import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parse, parseDocument } from 'yaml';
import { TEST_CREDENTIALS } from '../support/aws-backend-context.js';
import { startClusterHarness } from '../support/cluster-harness.js';
import { explainProcess } from '../support/explain-process.js';
import { aggregateToAdapter } from '../support/hpa-fixtures.js';
import { motoAvailability, startMoto } from '../support/moto.js';
import { setUpForFile, startedForFile } from '../support/started-for-file.js';

/**
 * The README's "Scale a worker pool to zero" example, read from README.md, end to end: the adapter
 * process on moto's SQS and CloudWatch, the HPA at zero replicas in the kube double, and
 * `explain hpa` (the built CLI) through kube-apiserver at 0, 7 and 70 waiting messages.
 */

function readmeExample(): { config: string; hpa: Record<string, unknown> } {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split('#### Scale a worker pool to zero')[1] ?? '';
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the README section has a yaml block');
  const [config = '', hpa = ''] = block.split('\n---\n');
  return { config, hpa: parse(hpa) as Record<string, unknown> };
}

const EXAMPLE = readmeExample();
const MESSAGES = [0, 7, 70];
const moto = motoAvailability();
const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
};

describe('scale a worker pool to zero: the README example on SQS (moto)', {
  skip: !moto.available && 'moto is not installed',
}, () => {
  if (!moto.available) return;
  const sqs = startedForFile(
    () => startMoto(),
    (m) => m.stop(),
  );
  const configDoc = parseDocument(EXAMPLE.config);
  // The example's allow-list, widened to the test's queues.
  const configFor = () => {
    configDoc.setIn(
      ['sqs', 'allowQueues'],
      MESSAGES.map((n) => `jobs-${n}`),
    );
    return configDoc.toString();
  };
  const cluster = startedForFile(() =>
    startClusterHarness({
      config: configFor(),
      env: { ...ENV, AWS_ENDPOINT_URL_SQS: sqs.url, AWS_ENDPOINT_URL_CLOUDWATCH: sqs.url },
    }),
  );
  let configPath = '';

  setUpForFile(async () => {
    const admin = new SQSClient({ region: ENV.AWS_REGION, endpoint: sqs.url, credentials: TEST_CREDENTIALS });
    for (const count of MESSAGES) {
      const { QueueUrl } = await admin.send(new CreateQueueCommand({ QueueName: `jobs-${count}` }));
      for (let i = 0; i < count; i += 10) {
        const entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
          Id: `m${i + j}`,
          MessageBody: 'job',
        }));
        await admin.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
      }
    }
    admin.destroy();
    const { kube } = cluster;
    aggregateToAdapter(cluster);
    for (const count of MESSAGES) {
      // One queue per message count: the example's queue name with the count appended.
      const hpa = JSON.parse(
        JSON.stringify(EXAMPLE.hpa).replaceAll('"queue-name":"jobs"', `"queue-name":"jobs-${count}"`),
      ) as { metadata: { name: string; namespace: string }; spec: Record<string, unknown> };
      const name = `${hpa.metadata.name}-${count}`;
      kube.objects.push({
        group: 'autoscaling',
        version: 'v2',
        resource: 'horizontalpodautoscalers',
        namespace: hpa.metadata.namespace,
        name,
        spec: hpa.spec,
      });
    }
    // Every HPA's target: the example's Deployment, at zero.
    kube.hpaCluster.scales.set(`apps/deployments/batch/jobs-workers`, {
      specReplicas: 0,
      statusReplicas: 0,
      selector: 'app=jobs-workers',
    });
    configPath = join(cluster.certs.dir, 'explain-config.yaml');
    await writeFile(configPath, configFor());
  });

  const explainAt = (count: number) =>
    explainProcess(
      ['hpa', `batch/jobs-workers-${count}`, '--kubeconfig', cluster.kube.kubeconfigPath, '--config', configPath],
      {
        ...ENV,
        AWS_ENDPOINT_URL_SQS: sqs.url,
        AWS_ENDPOINT_URL_CLOUDWATCH: sqs.url,
      },
    );

  it('an empty queue: both metrics answer 0 (the idle age by noData: zero), the pool stays at zero', async () => {
    const { code, text } = await explainAt(0);
    assert.equal(code, 0, text);
    assert.match(
      text,
      /metric 1: External sqs-queue-length\{queue-name=jobs-0\}[\s\S]*?value: 0\n {2}proposal: 0 replicas/,
    );
    assert.match(
      text,
      /metric 2: External sqs-oldest-message-age\{queue-name=jobs-0\}[\s\S]*?value: 0\n {2}proposal: 0 replicas \(from zero replicas: ceil\(usage ratio\)\)/,
    );
    assert.match(text, /^result: 0 replicas \(DesiredWithinRange/m);
    assert.doesNotMatch(text, /^warning:/m, 'the README policy leaves no scale-to-zero trap');
  });

  it('7 messages at 5 per worker wake the pool: 2 replicas, decided by the backlog', async () => {
    const { code, text } = await explainAt(7);
    assert.equal(code, 0, text);
    assert.match(text, /value: 7\n {2}proposal: 2 replicas \(total ÷ target per pod\)/);
    assert.match(
      text,
      /^result: 2 replicas \(DesiredWithinRange: [^)]*\), decided by metric 1 \(External sqs-queue-length\{queue-name=jobs-7\}\)$/m,
    );
  });

  it('70 messages propose 14, and from zero the controller takes at most 4 in one step', async () => {
    const { code, text } = await explainAt(70);
    assert.equal(code, 0, text);
    assert.match(text, /value: 70\n {2}proposal: 14 replicas \(total ÷ target per pod\)/);
    assert.match(text, /^result: 4 replicas \(ScaleUpLimit: /m);
  });

  it("without the README policy, explain hpa warns that an idle queue's age answers 404", async () => {
    const bare = parseDocument(configFor());
    bare.deleteIn(['sqs', 'oldestMessageAgeMetric']);
    bare.setIn(['sqs', 'failurePolicy'], { onError: 'fail' });
    const barePath = join(cluster.certs.dir, 'bare-config.yaml');
    await writeFile(barePath, bare.toString());
    const { text } = await explainProcess(
      ['hpa', 'batch/jobs-workers-7', '--kubeconfig', cluster.kube.kubeconfigPath, '--config', barePath],
      { ...ENV, AWS_ENDPOINT_URL_SQS: sqs.url, AWS_ENDPOINT_URL_CLOUDWATCH: sqs.url },
    );
    assert.match(
      text,
      /^warning: minReplicas is 0 and metric 2 \(sqs-oldest-message-age\{queue-name=jobs-7\}\) answers 404 when sqs has no data for it \(noData: error\)/m,
    );
    assert.match(
      text,
      /^warning: minReplicas is 0 and metric 1 \(sqs-queue-length\{queue-name=jobs-7\}\) answers 503 as soon as sqs is down \(onError: fail\)/m,
    );
  });
});
