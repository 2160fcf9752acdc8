import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { eventually } from '../support/adapter-client.js';
import { startClusterHarness } from '../support/cluster-harness.js';
import { explainProcess } from '../support/explain-process.js';
import { aggregateToAdapter } from '../support/hpa-fixtures.js';
import { gauge, startPrometheus } from '../support/prometheus-server.js';
import { setUpForFile, startedForFile } from '../support/started-for-file.js';

/**
 * An HPA at zero on a Prometheus metric whose server went down: `explain hpa` (the built CLI,
 * through kube-apiserver to the adapter process) names the 503 and its cause, shows that the
 * controller keeps the pool at zero, and warns about the config's scale-to-zero traps.
 */

const now = Math.floor(Date.now() / 1000);
const prometheus = startedForFile(
  () =>
    startPrometheus({
      series: [gauge('jobs_waiting', { namespace: 'batch', queue: 'jobs' }, 42, { end: now + 900, seconds: 2700 })],
    }),
  (server) => server.stop(),
);
const config = () => `
prometheus:
  url: ${prometheus.url}
  externalRules:
  - seriesQuery: '{__name__="jobs_waiting",queue!=""}'
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`;
const cluster = startedForFile(() => startClusterHarness({ config: config() }));
let configPath = '';

setUpForFile(async () => {
  const { kube } = cluster;
  aggregateToAdapter(cluster);
  kube.objects.push({
    group: 'autoscaling',
    version: 'v2',
    resource: 'horizontalpodautoscalers',
    namespace: 'batch',
    name: 'jobs-workers',
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'jobs-workers' },
      minReplicas: 0,
      maxReplicas: 20,
      metrics: [
        {
          type: 'External',
          external: {
            metric: { name: 'jobs_waiting', selector: { matchLabels: { queue: 'jobs' } } },
            target: { type: 'AverageValue', averageValue: '10' },
          },
        },
      ],
    },
  });
  kube.hpaCluster.scales.set('apps/deployments/batch/jobs-workers', {
    specReplicas: 0,
    statusReplicas: 0,
    selector: 'app=jobs-workers',
  });
  configPath = join(cluster.certs.dir, 'explain-config.yaml');
  await writeFile(configPath, config());
  // Discovered while Prometheus is up, never read: the outage leaves no last good value to serve.
  await eventually(
    'jobs_waiting discovered',
    async () => {
      const list = await cluster.asAggregator('/apis/external.metrics.k8s.io/v1beta1');
      return list.body?.resources?.some((r: { name: string }) => r.name === 'jobs_waiting') ? true : undefined;
    },
    15_000,
  );
  await prometheus.pause();
});

describe('explain hpa: an HPA at zero on a Prometheus metric whose server is down', () => {
  it('prints the request, the 503 and its cause, the pool kept at zero, and the traps', async () => {
    const { code, text } = await explainProcess([
      'hpa',
      'batch/jobs-workers',
      '--kubeconfig',
      cluster.kube.kubeconfigPath,
      '--config',
      configPath,
    ]);
    assert.equal(code, 1, text);
    assert.match(
      text,
      /^ {2}request: GET \/apis\/external\.metrics\.k8s\.io\/v1beta1\/namespaces\/batch\/jobs_waiting\?labelSelector=queue%3Djobs$/m,
    );
    assert.match(text, /^ {2}answer: 503 ServiceUnavailable: /m);
    assert.match(
      text,
      new RegExp(`^ {2}proposal: <unknown>: 503 backend error: .*${prometheus.url.replace(/\./g, '\\.')}`, 'm'),
    );
    assert.match(text, /^result: 0 replicas \(FailedGetMetrics: /m);
    assert.match(
      text,
      /^warning: minReplicas is 0 and every Object\/External metric is <unknown> now \(metric 1\): at zero replicas the pool stays at zero until one answers$/m,
    );
    assert.match(
      text,
      /^warning: minReplicas is 0 and metric 1 \(jobs_waiting\{queue=jobs\}\) answers 404 when prometheus has no data for it \(noData: error\)/m,
    );
  });
});
