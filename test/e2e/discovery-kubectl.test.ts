import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CloudWatchDouble } from '../support/aws-cloudwatch-double.js';
import { SqsDouble } from '../support/aws-sqs-double.js';
import { type ClusterHarness, startClusterHarness } from '../support/cluster-harness.js';
import { findKubectlVersions } from '../support/kubectl.js';

/**
 * `kubectl api-resources` is how users (and helm, operators, the namespace controller, all with
 * client-go's discovery) first meet an aggregated API: it fails as a whole when one group-version
 * lists no resources. Each config below once served an empty list; every kubectl found here, the
 * current one and an old one, must now read our discovery without an error.
 */

const KUBECTL_VERSIONS = findKubectlVersions(['1.32', '1.27']);
const DISCOVERY_ERROR =
  /unable to retrieve|received empty response|Got empty response|couldn't get resource list|error/i;

let sqs: SqsDouble;
let cloudwatch: CloudWatchDouble;
let closedPort: number;

const AWS_ENV = () => ({
  AWS_REGION: 'eu-west-1',
  AWS_ENDPOINT_URL_SQS: sqs.url,
  AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch.url,
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
});

const CONFIGS: { name: string; config: string; extraArgs?: () => string[] }[] = [
  { name: 'no config sections at all', config: '{}\n' },
  {
    name: 'SQS only',
    config: 'sqs:\n  allowQueues: ["jobs"]\n  queueLengthMetric: { enabled: true, namespaces: [batch] }\n',
  },
  {
    name: 'CloudWatch only',
    config: `cloudwatch:
  region: eu-west-1
  metrics:
    - name: alb-requests
      period: 60
      queries:
        - { id: r, metricStat: { namespace: AWS/ApplicationELB, metricName: RequestCount, stat: Sum } }
`,
  },
  { name: 'static external only', config: 'static:\n  external:\n    - metric: fixed\n      series: [{ value: 1 }]\n' },
  {
    // Prometheus cannot be reached, so its first relist finds nothing: discovery is as it is before one.
    name: 'Prometheus before its first relist',
    config: `prometheus:
  rules:
    - seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
      resources: { overrides: { namespace: { resource: namespace }, pod: { resource: pod } } }
      name: { matches: "^(.*)_total$", as: "\${1}_per_second" }
      metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
`,
    extraArgs: () => [`--prometheus-url=http://127.0.0.1:${closedPort}`],
  },
];

before(async () => {
  sqs = await SqsDouble.start();
  sqs.setQueue('jobs', { visible: 1 });
  cloudwatch = await CloudWatchDouble.start();
  closedPort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
});

after(async () => {
  await sqs?.close();
  await cloudwatch?.close();
});

for (const { name, config, extraArgs } of CONFIGS) {
  describe(`discovery with ${name}`, () => {
    let cluster: ClusterHarness;
    before(async () => {
      cluster = await startClusterHarness({ config, env: AWS_ENV(), extraArgs: extraArgs?.() });
      cluster.kube.tokens.set('user-token', { username: 'someone', groups: ['devs'] });
    });
    after(async () => {
      await cluster?.close();
    });

    it('every group-version lists at least one resource, each with a kind', async () => {
      for (const path of [
        '/apis/custom.metrics.k8s.io/v1beta2',
        '/apis/custom.metrics.k8s.io/v1beta1',
        '/apis/external.metrics.k8s.io/v1beta1',
      ]) {
        const answer = await cluster.asAggregator(path);
        assert.equal(answer.status, 200, path);
        assert.ok(answer.body.resources.length > 0, `${path} lists resources`);
        for (const r of answer.body.resources) assert.ok(r.kind && r.verbs.length > 0, `${path} ${r.name}`);
      }
    });

    if (KUBECTL_VERSIONS.length === 0) {
      it('kubectl api-resources (SKIPPED: no kubectl.1.32 or kubectl.1.27 beside a kubectl on PATH)', (t) => {
        t.skip('kubectl is not installed on this machine; CI runs this with kubectl');
      });
    }
    for (const { version, binary } of KUBECTL_VERSIONS) {
      it(`kubectl ${version} api-resources exits 0 with no discovery error`, async () => {
        const result = await cluster.kubectl(['api-resources', '-o', 'wide'], 'user-token', binary);
        assert.ok(result);
        assert.equal(result.code, 0, result.stderr);
        assert.doesNotMatch(result.stderr, DISCOVERY_ERROR);
        const lines = result.stdout.split('\n');
        for (const groupVersion of ['custom.metrics.k8s.io/v1beta2', 'external.metrics.k8s.io/v1beta1']) {
          assert.ok(
            lines.some((line) => line.startsWith('discovery-placeholder') && line.includes(groupVersion)),
            `placeholder listed for ${groupVersion}:\n${result.stdout}`,
          );
        }
      });

      it(`kubectl ${version} get --raw reads /apis and every group-version`, async () => {
        for (const path of [
          '/apis',
          '/apis/custom.metrics.k8s.io/v1beta1',
          '/apis/custom.metrics.k8s.io/v1beta2',
          '/apis/external.metrics.k8s.io/v1beta1',
        ]) {
          const result = await cluster.kubectl(['get', '--raw', path], 'user-token', binary);
          assert.ok(result);
          assert.equal(result.code, 0, `${path}: ${result.stderr}`);
          assert.doesNotMatch(result.stderr, DISCOVERY_ERROR);
          const body = JSON.parse(result.stdout);
          assert.equal(body.kind, path === '/apis' ? 'APIGroupList' : 'APIResourceList');
        }
      });
    }
  });
}
