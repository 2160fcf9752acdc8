import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqsDouble } from '../support/aws-sqs-double.js';
import { startClusterHarness } from '../support/cluster-harness.js';
import { setUpForFile, startedForFile } from '../support/started-for-file.js';

/**
 * The batch-processor case end to end: the adapter process reads SQS through the real AWS SDK
 * (pointed at the wire-level double with AWS_ENDPOINT_URL_SQS, as a user would point it at a
 * VPC endpoint), and on-call inspects it with kubectl.
 */

const CONFIG = `
sqs:
  allowQueues: ["jobs", "team-*"]
  queueLengthMetric: { enabled: true, include: [visible, inFlight], namespaces: [batch] }
`;

const sqs = startedForFile(async () => {
  const double = await SqsDouble.start();
  double.setQueue('jobs', { visible: 37, inFlight: 5, delayed: 100 });
  double.setQueue('secret-payroll', { visible: 1 });
  return double;
});
const cluster = startedForFile(() =>
  startClusterHarness({
    config: CONFIG,
    env: {
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_SQS: sqs.url,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    },
  }),
);

setUpForFile(() => {
  cluster.kube.tokens.set('oncall-token', { username: 'oncall', groups: ['sre'] });
  cluster.kube.allowRules.push({ user: 'oncall', group: 'external.metrics.k8s.io' });
});

describe('sqs-queue-length end to end', () => {
  it('the HPA reads visible + in-flight messages of its queue', async () => {
    const answer = await cluster.asAggregator(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/batch/sqs-queue-length?labelSelector=queue-name%3Djobs',
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.items.length, 1);
    assert.equal(answer.body.items[0].value, '42');
    assert.equal(answer.body.items[0].metricLabels['queue-name'], 'jobs');
  });

  it('kubectl get --raw shows on-call the same value, served from cache (no second SQS call)', async (t) => {
    const attributeCalls = sqs.callsOf('GetQueueAttributes').length;
    const result = await cluster.kubectl(
      [
        'get',
        '--raw',
        '/apis/external.metrics.k8s.io/v1beta1/namespaces/batch/sqs-queue-length?labelSelector=queue-name%3Djobs',
      ],
      'oncall-token',
    );
    if (!result) return t.skip('kubectl is not installed on this machine');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).items[0].value, '42');
    assert.equal(sqs.callsOf('GetQueueAttributes').length, attributeCalls, 'answered from the cache');
  });

  it('kubectl shows why a queue outside the allow-list is refused', async (t) => {
    const result = await cluster.kubectl(
      [
        'get',
        '--raw',
        '/apis/external.metrics.k8s.io/v1beta1/namespaces/batch/sqs-queue-length?labelSelector=queue-name%3Dsecret-payroll',
      ],
      'oncall-token',
    );
    if (!result) return t.skip('kubectl is not installed on this machine');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Error from server \(Forbidden\): .*secret-payroll/);
  });

  it('refuses a namespace the metric is not shared with', async () => {
    const answer = await cluster.asAggregator(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/web/sqs-queue-length?labelSelector=queue-name%3Djobs',
    );
    assert.equal(answer.status, 403);
    assert.match(answer.body.message, /web/);
  });

  it('answers 404 naming a queue that does not exist', async () => {
    const answer = await cluster.asAggregator(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/batch/sqs-queue-length?labelSelector=queue-name%3Dteam-gone',
    );
    assert.equal(answer.status, 404);
    assert.match(answer.body.message, /team-gone/);
  });
});
