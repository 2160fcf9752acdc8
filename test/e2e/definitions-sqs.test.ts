import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { TEST_CREDENTIALS } from '../support/aws-backend-context.js';
import { type ClusterHarness, HPA_USER, startClusterHarness } from '../support/cluster-harness.js';
import { definitionObject } from '../support/definitions.js';
import { type MotoServer, motoAvailability, startMoto } from '../support/moto.js';
import { type RecordingProxy, startRecordingProxy } from '../support/recording-proxy.js';

/**
 * MetricDefinitions against moto's SQS through the built adapter: a queue outside the
 * namespace's `${namespace}-*` glob is Forbidden and no SQS call is made for it (every call is
 * counted at a recording proxy in front of moto); a queue inside it is served with its depth.
 */
const NS = '$' + '{namespace}';
const moto = motoAvailability();

describe('MetricDefinitions on moto SQS (the built adapter)', { skip: moto.available ? false : moto.reason }, () => {
  let server: MotoServer;
  let proxy: RecordingProxy;
  let cluster: ClusterHarness;

  before(async () => {
    server = await startMoto();
    const admin = new SQSClient({ region: 'eu-west-1', endpoint: server.url, credentials: TEST_CREDENTIALS });
    for (const [queue, messages] of [
      ['team-a-jobs', 2],
      ['team-b-jobs', 5],
    ] as const) {
      const { QueueUrl } = await admin.send(new CreateQueueCommand({ QueueName: queue }));
      for (let i = 0; i < messages; i++) await admin.send(new SendMessageCommand({ QueueUrl, MessageBody: `m${i}` }));
    }
    admin.destroy();
    proxy = await startRecordingProxy(server.url);
    cluster = await startClusterHarness({
      config: `
sqs:
  region: eu-west-1
  endpoint: ${proxy.url}
definitions:
  enabled: true
  rules:
  - namespaces: ["team-*"]
    sqs: { queues: ["${NS}-*"] }
`,
      env: {
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        AWS_REGION: 'eu-west-1',
      },
    });
  });

  after(async () => {
    await cluster?.close();
    await proxy?.close();
    await server?.stop();
  });

  const put = (name: string, queueName: string) =>
    cluster.kube.watch.put(definitionObject('team-a', name, { sqs: { queueName } }));
  const read = (metric: string) =>
    cluster.asAggregator(`/apis/external.metrics.k8s.io/v1beta1/namespaces/team-a/${metric}`, HPA_USER, [
      'system:authenticated',
    ]);
  const sqsCalls = (operation: string) =>
    proxy.requests.filter((r) => r.headers['x-amz-target'] === `AmazonSQS.${operation}`).length;

  it('a queue outside the namespace glob is never asked: not served, no SQS call at all', async () => {
    put('stolen', 'team-b-jobs');
    await new Promise((r) => setTimeout(r, 1500));
    const answer = await read('stolen');
    assert.equal(answer.status, 404, JSON.stringify(answer.body));
    assert.equal(sqsCalls('GetQueueUrl'), 0);
    assert.equal(sqsCalls('GetQueueAttributes'), 0);
  });

  it('a queue inside it is served with its depth, and the refused one still causes no call', async () => {
    put('backlog', 'team-a-jobs');
    const deadline = Date.now() + 5000;
    let answer = await read('backlog');
    while (answer.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await read('backlog');
    }
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.items[0].value, '2');
    assert.equal(sqsCalls('GetQueueAttributes'), 1);
    assert.equal((await read('stolen')).status, 404);
    assert.equal(sqsCalls('GetQueueAttributes'), 1);
  });
});
