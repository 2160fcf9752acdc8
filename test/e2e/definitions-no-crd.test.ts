import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapterMetric, eventually } from '../support/adapter-client.js';
import { HPA_USER, startClusterHarness } from '../support/cluster-harness.js';
import { FORBIDDEN_QUEUE_POLICY, putForbiddenDefinition } from '../support/forbidden-definition.js';
import { startedForFile } from '../support/started-for-file.js';

/**
 * The built adapter with definitions on in a cluster without the MetricDefinition CRD (the kube
 * double answers its LIST 404, as kube-apiserver does): the config's metrics are served, the log
 * says so once and hpa_metrics_adapter_definitions_watch says crd_missing; once the CRD is
 * installed the definitions are read.
 */
const CRD = 'metricdefinitions.hpa-metrics-adapter.io';

const cluster = startedForFile(() =>
  startClusterHarness({
    config: `
static:
  external:
  - metric: config-owned
    series: [{ value: 7 }]
${FORBIDDEN_QUEUE_POLICY}`,
    beforeStart: (kube) => kube.missingResources.add(CRD),
  }),
);

const watchState = (state: string) =>
  adapterMetric(
    cluster.adapter.port,
    'hpa_metrics_adapter_definitions_watch',
    { state },
    { ca: cluster.servingCa.cert },
  );
const aboutDefinitions = () =>
  cluster.adapter.logs.filter(
    (l) => (l.level === 'warn' || l.level === 'error') && /definitions|metricdefinitions/i.test(JSON.stringify(l)),
  );

describe('definitions on, the CRD not installed (the built adapter)', () => {
  it("serves the config's metrics and says crd_missing once; reads definitions once the CRD is installed", async () => {
    const answer = await cluster.asAggregator(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/team-a/config-owned',
      HPA_USER,
      ['system:authenticated'],
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.items[0].value, '7');
    await eventually(
      'crd_missing in /metrics',
      async () => ((await watchState('crd_missing')) === 1 ? true : undefined),
      30_000,
    );
    // The first retries come 0.4–1.2 s and 0.8–2.4 s after the first LIST: by now it was refused more than once.
    await new Promise((r) => setTimeout(r, 4000));
    assert.deepEqual(
      aboutDefinitions().map((l) => l.msg),
      [
        'definitions: the MetricDefinition CRD is not installed (deploy/base/crd-metricdefinitions.yaml); serving the config file only, looking again with backoff',
      ],
    );

    cluster.kube.missingResources.delete(CRD);
    putForbiddenDefinition(cluster.kube, 'jobs');
    // Backoff doubles up to 30 s (±50 %): the next LIST comes within 45 s; the test stays within its 120 s.
    await eventually(
      'serving in /metrics',
      async () => ((await watchState('serving')) === 1 ? true : undefined),
      60_000,
      500,
    );
    assert.equal(await watchState('crd_missing'), undefined);
  });
});
