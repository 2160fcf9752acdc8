import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { timeRangeAt } from '../../src/providers/cloudwatch/queries.js';
import { eventually } from '../support/adapter-client.js';
import { TEST_CREDENTIALS } from '../support/aws-backend-context.js';
import { CloudWatchDouble } from '../support/aws-cloudwatch-double.js';
import { type ClusterHarness, HPA_USER, startClusterHarness } from '../support/cluster-harness.js';
import { METRIC_DEFINITIONS_REF } from '../support/forbidden-definition.js';
import { type MotoServer, motoAvailability, startMoto } from '../support/moto.js';
import { type RecordingProxy, startRecordingProxy } from '../support/recording-proxy.js';

/**
 * MetricDefinitions on CloudWatch through the built adapter, against the project's CloudWatch
 * double and against moto (a recording proxy in front of it counts every call): team-a may read
 * only the CloudWatch namespace `Team/team-a` (`Team/${namespace}`). Its definition of a metric
 * there is served with the newest datapoint of the window; one reading `Team/team-b` is
 * Forbidden and no GetMetricData is ever sent for it.
 */
const NS = '$' + '{namespace}';
const PERIOD = { period: 60, lag: 60, window: 300 };
// Datapoints a minute apart before the window's end: the newest (4) stays the newest even if the
// window moves on by a minute between setting them and reading them.
const { endTime: END } = timeRangeAt(Date.now(), PERIOD);
const POINTS = [
  { timestamp: END - 150, value: 3 },
  { timestamp: END - 40, value: 4 },
];

const config = (endpoint: string) => `
cloudwatch:
  region: eu-west-1
  endpoint: ${endpoint}
definitions:
  enabled: true
  rules:
  - namespaces: ["team-*"]
    cloudwatch: { metricNamespaces: ["Team/${NS}"] }
`;
const env = {
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  AWS_REGION: 'eu-west-1',
};

const define = (cluster: ClusterHarness, name: string, metricNamespace: string) =>
  cluster.kube.watch.put({
    ...METRIC_DEFINITIONS_REF,
    namespace: 'team-a',
    name,
    generation: 1,
    spec: {
      cloudwatch: {
        ...PERIOD,
        queries: [
          {
            id: 'm1',
            metricStat: {
              namespace: metricNamespace,
              metricName: 'Depth',
              dimensions: [{ name: 'Queue', value: 'jobs' }],
              stat: 'Average',
            },
          },
        ],
      },
    },
  });
const read = (cluster: ClusterHarness, metric: string) =>
  cluster.asAggregator(`/apis/external.metrics.k8s.io/v1beta1/namespaces/team-a/${metric}`, HPA_USER, [
    'system:authenticated',
  ]);
const served = (cluster: ClusterHarness, metric: string) =>
  eventually(
    `${metric} served`,
    async () => {
      const answer = await read(cluster, metric);
      return answer.status === 200 ? answer : undefined;
    },
    // The issue asks for 5 s; the margin is for a loaded machine.
    20_000,
  );

/** Both backends, the same two definitions: `calls()` are the GetMetricData bodies that reached it. */
function definitionsOn(start: () => Promise<{ url: string; calls(): string[]; close(): Promise<void> }>) {
  let backend: Awaited<ReturnType<typeof start>>;
  let cluster: ClusterHarness;
  before(async () => {
    backend = await start();
    cluster = await startClusterHarness({ config: config(backend.url), env });
  });
  after(async () => {
    await cluster?.close();
    await backend?.close();
  });

  it("a definition of another team's CloudWatch namespace is not served and never asked for", async () => {
    define(cluster, 'stolen', 'Team/team-b');
    define(cluster, 'depth', 'Team/team-a');
    // Judged in the same rebuild as the allowed one: once that is served, the refused one is settled.
    const answer = await served(cluster, 'depth');
    assert.equal(answer.body.items[0].value, '4');
    assert.equal((await read(cluster, 'stolen')).status, 404);
    const calls = backend.calls();
    assert.ok(calls.length >= 1, 'the allowed definition was read from CloudWatch');
    assert.deepEqual(
      calls.filter((body) => body.includes('team-b')),
      [],
    );
  });
}

describe('MetricDefinitions on the CloudWatch double (the built adapter)', () => {
  definitionsOn(async () => {
    const double = await CloudWatchDouble.start();
    double.put({ namespace: 'Team/team-a', metricName: 'Depth', dimensions: { Queue: 'jobs' } }, POINTS);
    double.put({ namespace: 'Team/team-b', metricName: 'Depth', dimensions: { Queue: 'jobs' } }, POINTS);
    return {
      url: double.url,
      calls: () => double.calls.map((call) => JSON.stringify(call.body)),
      close: () => double.close(),
    };
  });
});

const moto = motoAvailability();
describe('MetricDefinitions on moto CloudWatch (the built adapter)', {
  skip: moto.available ? false : moto.reason,
}, () => {
  definitionsOn(async () => {
    const server: MotoServer = await startMoto();
    const admin = new CloudWatchClient({ region: 'eu-west-1', endpoint: server.url, credentials: TEST_CREDENTIALS });
    for (const team of ['team-a', 'team-b']) {
      await admin.send(
        new PutMetricDataCommand({
          Namespace: `Team/${team}`,
          MetricData: POINTS.map((p) => ({
            MetricName: 'Depth',
            Dimensions: [{ Name: 'Queue', Value: 'jobs' }],
            Timestamp: new Date(p.timestamp * 1000),
            Value: p.value,
          })),
        }),
      );
    }
    admin.destroy();
    const proxy: RecordingProxy = await startRecordingProxy(server.url);
    return {
      url: proxy.url,
      calls: () =>
        proxy.requests
          .filter((r) => r.headers['x-amz-target'] === 'GraniteServiceVersion20100801.GetMetricData')
          .map((r) => r.body),
      async close() {
        await proxy.close();
        await server.stop();
      },
    };
  });
});
