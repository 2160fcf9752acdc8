import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Answer, HPA_USER, startClusterHarness } from '../support/cluster-harness.js';
import { findKubectl, runKubectl } from '../support/kubectl.js';
import { startPrometheus } from '../support/prometheus-server.js';
import {
  clusterSeries,
  kubePrometheusConfig,
  serveResourceMetricsThroughDouble,
} from '../support/resource-metrics-cluster.js';
import { setUpForFile, startedForFile } from '../support/started-for-file.js';

/**
 * A config reload turns metrics.k8s.io on and off, as a restart with that config would: the
 * group appears in (and leaves) legacy and aggregated discovery and OpenAPI, which is what
 * kube-apiserver's aggregator reads through the APIService, and its reads answer (or 404).
 */

const WITHOUT = `
static:
  external:
  - metric: config-owned
    series: [{ value: 1 }]
`;

const prometheus = startedForFile(
  () => startPrometheus({ series: clusterSeries() }),
  (server) => server.stop(),
);
const cluster = startedForFile(() =>
  startClusterHarness({ config: WITHOUT, extraArgs: [`--prometheus-url=${prometheus.url}`] }),
);
setUpForFile(() => serveResourceMetricsThroughDouble(cluster));

/** The group is gone from everything the aggregator reads, as without resourceRules at start. */
const NOT_SERVED = { availability: 404, legacy: false, aggregated: false, openapi: false };

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** What the aggregator sees of the group: its availability check, both discoveries, OpenAPI v3. */
async function asTheAggregatorSeesIt() {
  const headers = { 'X-Remote-User': HPA_USER };
  const check = await cluster.asAggregator('/apis/metrics.k8s.io/v1beta1');
  const legacy = await cluster.asAggregator('/apis');
  const aggregated = await cluster.call('/apis', {
    cert: cluster.proxyClient,
    headers: { ...headers, Accept: AGGREGATED },
  });
  const openapi = await cluster.call('/openapi/v3', { cert: cluster.proxyClient, headers });
  const names = (answer: Answer, key: (g: { name?: string; metadata?: { name: string } }) => string | undefined) =>
    (answer.body.groups ?? answer.body.items).map(key).includes('metrics.k8s.io');
  return {
    availability: check.status,
    legacy: names(legacy, (g) => g.name),
    aggregated: names(aggregated, (g) => g.metadata?.name),
    openapi: Object.keys(openapi.body.paths).includes('apis/metrics.k8s.io/v1beta1'),
  };
}

async function reloadWith(config: string, served: boolean): Promise<void> {
  await writeFile(join(cluster.certs.dir, 'config.yaml'), config);
  cluster.adapter.child.kill('SIGHUP');
  // A reload takes milliseconds; 30 s is margin for a loaded machine.
  const deadline = Date.now() + 30_000;
  while ((await cluster.asAggregator('/apis/metrics.k8s.io/v1beta1')).status !== (served ? 200 : 404)) {
    if (Date.now() > deadline)
      throw new Error(`metrics.k8s.io ${served ? 'not served' : 'still served'} 30 s after the reload`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const kubectl = findKubectl();

async function kubectlTop(): Promise<{ code: number | null; stdout: string; stderr: string } | undefined> {
  if (!kubectl) return undefined;
  const kubeconfig = await cluster.kube.writeKubeconfig('alice-token', 'alice.kubeconfig');
  return runKubectl(kubectl, kubeconfig, ['top', 'pod', '-n', 'shop']);
}

describe('resourceRules turned on and off by a config reload (the built adapter)', () => {
  it('serves metrics.k8s.io from the reload that adds them, and stops at the reload that removes them', async () => {
    assert.deepEqual(await asTheAggregatorSeesIt(), NOT_SERVED);

    await reloadWith(WITHOUT + (await kubePrometheusConfig()), true);
    assert.deepEqual(await asTheAggregatorSeesIt(), {
      availability: 200,
      legacy: true,
      aggregated: true,
      openapi: true,
    });
    const pods = await cluster.asAggregator('/apis/metrics.k8s.io/v1/namespaces/shop/pods');
    assert.equal(pods.status, 200, JSON.stringify(pods.body));
    assert.deepEqual(
      pods.body.items.map((p: { metadata: { name: string } }) => p.metadata.name),
      ['db-0', 'web-1', 'web-2'],
    );
    const top = await kubectlTop();
    if (top) {
      assert.equal(top.code, 0, top.stderr);
      assert.match(top.stdout, /^web-1\s+313m\s+58Mi\s*$/m);
    }
    const external = await cluster.asAggregator('/apis/external.metrics.k8s.io/v1beta1');
    assert.equal(external.status, 200, 'the other groups are served throughout');

    await reloadWith(WITHOUT, false);
    assert.deepEqual(await asTheAggregatorSeesIt(), NOT_SERVED);
    const gone = await cluster.asAggregator('/apis/metrics.k8s.io/v1/namespaces/shop/pods');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.kind, 'Status');
    const after = await kubectlTop();
    if (after) {
      assert.notEqual(after.code, 0);
      assert.match(after.stderr, /NotFound|could not find/);
    }
    assert.ok(
      cluster.adapter.logs.some(
        (l) => l.level === 'warn' && String(l.msg).startsWith('config reload removed resourceRules'),
      ),
      'the reload that removed them says what the APIServices pointing here now do',
    );
  });
});
