import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCpu, formatMemory } from '../../src/api/resource-metrics.js';
import { HPA_USER, startClusterHarness } from '../support/cluster-harness.js';
import { findKubectl, runKubectl } from '../support/kubectl.js';
import { startPrometheus } from '../support/prometheus-server.js';
import {
  clusterSeries,
  kubePrometheusConfig,
  serveResourceMetricsThroughDouble,
} from '../support/resource-metrics-cluster.js';
import { setUpForFile, startedForFile } from '../support/started-for-file.js';

/**
 * metrics.k8s.io from kube-prometheus's exact resourceRules, the built adapter over a real
 * Prometheus and the kube-apiserver double: every value is what the same PromQL gives from
 * Prometheus's own API, in v1beta1 and v1 alike, and the answers are what the HPA's
 * resource-metrics client can use.
 */

const prometheus = startedForFile(
  () => startPrometheus({ series: clusterSeries() }),
  (server) => server.stop(),
);
const cluster = startedForFile(async () =>
  startClusterHarness({ config: await kubePrometheusConfig(), extraArgs: [`--prometheus-url=${prometheus.url}`] }),
);
setUpForFile(() => serveResourceMetricsThroughDouble(cluster));

const VERSIONS = ['v1beta1', 'v1'] as const;

async function read(path: string) {
  const answer = await cluster.asAggregator(path);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

/** Prometheus's own answer to a query, as `label values → value`. */
async function promql(query: string, key: (labels: Record<string, string>) => string): Promise<Map<string, number>> {
  const url = `${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}&time=${Date.now() / 1000}`;
  const body = (await (await fetch(url)).json()) as {
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  return new Map(body.data.result.map((r) => [key(r.metric), Number(r.value[1])]));
}

interface PodItem {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  timestamp: string;
  window: string;
  containers: { name: string; usage: Record<string, string> }[];
}

/** What the HPA's resource-metrics client makes of a PodMetricsList (k8s.io/kubernetes podautoscaler/metrics). */
function hpaPodMetrics(items: PodItem[], resource: 'cpu' | 'memory'): Map<string, number> {
  if (items.length === 0) throw new Error('no metrics returned from resource metrics API');
  const result = new Map<string, number>();
  for (const pod of items) {
    if (pod.containers.some((c) => c.usage[resource] === undefined)) continue;
    result.set(
      pod.metadata.name,
      pod.containers.reduce((sum, c) => sum + quantity(c.usage[resource] ?? ''), 0),
    );
  }
  return result;
}

function quantity(text: string): number {
  const match = /^(\d+)(n|u|m|Ki|Mi|Gi)?$/.exec(text);
  assert.ok(match, `a quantity: ${text}`);
  const scale = { n: 1e-9, u: 1e-6, m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * scale;
}

describe('metrics.k8s.io from kube-prometheus`s resourceRules (the built adapter)', () => {
  it('serves every pod container`s CPU and memory as Prometheus computes them, in both versions', async () => {
    const cpu = await promql(
      'sum by (namespace, pod, container) (irate(container_cpu_usage_seconds_total{container!="",pod!=""}[4m]))',
      (l) => `${l.namespace}/${l.pod}/${l.container}`,
    );
    const memory = await promql(
      'sum by (namespace, pod, container) (container_memory_working_set_bytes{container!="",pod!=""})',
      (l) => `${l.namespace}/${l.pod}/${l.container}`,
    );
    for (const version of VERSIONS) {
      const all = await read(`/apis/metrics.k8s.io/${version}/pods`);
      assert.equal(all.kind, 'PodMetricsList');
      assert.equal(all.apiVersion, `metrics.k8s.io/${version}`);
      const served = new Map<string, Record<string, string>>();
      for (const pod of all.items as PodItem[]) {
        assert.equal(pod.window, '5m0s');
        for (const c of pod.containers) served.set(`${pod.metadata.namespace}/${pod.metadata.name}/${c.name}`, c.usage);
      }
      const expected = new Map<string, Record<string, string>>();
      for (const key of new Set([...cpu.keys(), ...memory.keys()])) {
        if (key.startsWith('shop/gone-1/')) continue;
        const usage: Record<string, string> = {};
        const c = cpu.get(key);
        const m = memory.get(key);
        if (c !== undefined) usage.cpu = formatCpu(c);
        if (m !== undefined) usage.memory = formatMemory(m);
        expected.set(key, usage);
      }
      assert.deepEqual(Object.fromEntries(served), Object.fromEntries(expected));
      // Written as metrics-server writes them.
      assert.deepEqual(served.get('shop/web-1/web'), { cpu: '250m', memory: '51204Ki' });
      assert.deepEqual(served.get('shop/web-1/sidecar'), { cpu: '62500u', memory: '8Mi' });
      assert.deepEqual(served.get('shop/db-0/init-schema'), { cpu: '125m', memory: '4100Ki' });
      assert.deepEqual(served.get('other/web-1/web'), { cpu: '1500m', memory: '10Mi' });
    }
  });

  it('serves nodes as the node queries compute them; a node without series is left out', async () => {
    const cpu = await promql(
      'sum by (node) (1 - irate(node_cpu_seconds_total{mode="idle"}[4m]) * on(namespace, pod) group_left(node) (node_namespace_pod:kube_pod_info:{node!=""}))',
      (l) => l.node ?? '',
    );
    const memory = await promql(
      'sum by (instance) (node_memory_MemTotal_bytes{job="node-exporter"} - node_memory_MemAvailable_bytes{job="node-exporter"})',
      (l) => l.instance ?? '',
    );
    for (const version of VERSIONS) {
      const list = await read(`/apis/metrics.k8s.io/${version}/nodes`);
      assert.equal(list.kind, 'NodeMetricsList');
      const usage = Object.fromEntries(
        list.items.map((n: { metadata: { name: string }; usage: object }) => [n.metadata.name, n.usage]),
      );
      assert.deepEqual(usage, {
        'node-1': { cpu: formatCpu(cpu.get('node-1') ?? -1), memory: formatMemory(memory.get('node-1') ?? -1) },
        'node-2': { cpu: formatCpu(cpu.get('node-2') ?? -1), memory: formatMemory(memory.get('node-2') ?? -1) },
      });
      assert.deepEqual(usage['node-1'], { cpu: '500m', memory: '2Gi' });
      const one = await read(`/apis/metrics.k8s.io/${version}/nodes/node-2`);
      assert.equal(one.kind, 'NodeMetrics');
      assert.deepEqual(one.usage, usage['node-2']);
      const missing = await cluster.asAggregator(`/apis/metrics.k8s.io/${version}/nodes/node-3`);
      assert.equal(missing.status, 404);
      assert.match(missing.body.message, /nodemetrics\.metrics\.k8s\.io "node-3" not found/);
    }
  });

  it('gets one pod, lists by labelSelector and fieldSelector, and answers what the HPA can use', async () => {
    for (const version of VERSIONS) {
      const one = await read(`/apis/metrics.k8s.io/${version}/namespaces/shop/pods/web-1`);
      assert.equal(one.kind, 'PodMetrics');
      assert.deepEqual(one.metadata.labels, { app: 'web' });
      assert.deepEqual(
        one.containers.map((c: { name: string }) => c.name),
        ['sidecar', 'web'],
        'the pod cgroup`s series (container="") is no container',
      );
      const web = await read(`/apis/metrics.k8s.io/${version}/namespaces/shop/pods?labelSelector=app%3Dweb`);
      assert.deepEqual(
        web.items.map((p: PodItem) => p.metadata.name),
        ['web-1', 'web-2'],
        'ghost (no series) is left out',
      );
      assert.deepEqual(
        hpaPodMetrics(web.items, 'cpu'),
        new Map([
          ['web-1', 0.3125],
          ['web-2', 0.5],
        ]),
      );
      const byName = await read(
        `/apis/metrics.k8s.io/${version}/namespaces/shop/pods?fieldSelector=metadata.name%3Dweb-2`,
      );
      assert.deepEqual(
        byName.items.map((p: PodItem) => p.metadata.name),
        ['web-2'],
      );

      // db-0's main container is too new for irate: served with its memory, and the HPA skips it
      // for CPU only (prometheus-adapter leaves the whole pod out: kube-prometheus #2242, #2579).
      const db = await read(`/apis/metrics.k8s.io/${version}/namespaces/shop/pods?labelSelector=app%3Ddb`);
      assert.deepEqual(db.items[0].containers, [
        { name: 'db', usage: { memory: '256Mi' } },
        { name: 'init-schema', usage: { cpu: '125m', memory: '4100Ki' } },
      ]);
      assert.deepEqual(hpaPodMetrics(db.items, 'cpu'), new Map());
      assert.deepEqual(hpaPodMetrics(db.items, 'memory'), new Map([['db-0', 260 * 1024 * 1024 + 4096]]));

      const ghost = await cluster.asAggregator(`/apis/metrics.k8s.io/${version}/namespaces/shop/pods/ghost`);
      assert.equal(ghost.status, 404);
      assert.equal(ghost.body.kind, 'Status');
      assert.match(ghost.body.message, /podmetrics\.metrics\.k8s\.io "shop\/ghost" not found/);
      const huge = await cluster.asAggregator(
        `/apis/metrics.k8s.io/${version}/namespaces/shop/pods?labelSelector=app+in+(${'x,'.repeat(3000)}y)`,
      );
      assert.equal(huge.status, 400, 'a huge label selector is a Status, not a query');
      assert.equal(huge.body.kind, 'Status');
      assert.match(huge.body.message, /invalid labelSelector/);
      const none = await read(`/apis/metrics.k8s.io/${version}/namespaces/empty/pods`);
      assert.deepEqual(none.items, [], 'an empty list, as metrics-server answers it');
    }
  });

  it('announces both versions in legacy and aggregated discovery, and authorizes as kube-apiserver would', async () => {
    const group = await read('/apis/metrics.k8s.io');
    assert.deepEqual(
      group.versions.map((v: { version: string }) => v.version),
      ['v1', 'v1beta1'],
    );
    for (const version of VERSIONS) {
      const list = await read(`/apis/metrics.k8s.io/${version}`);
      assert.deepEqual(list.resources, [
        { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
        { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
      ]);
    }
    const aggregated = await cluster.call('/apis', {
      cert: cluster.proxyClient,
      headers: {
        'X-Remote-User': HPA_USER,
        Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
      },
    });
    const metrics = aggregated.body.items.find(
      (g: { metadata: { name: string } }) => g.metadata.name === 'metrics.k8s.io',
    );
    assert.deepEqual(
      metrics.versions.map((v: { version: string; resources: { resource: string; scope: string }[] }) => [
        v.version,
        v.resources.map((r) => `${r.resource} ${r.scope}`),
      ]),
      [
        ['v1', ['nodes Cluster', 'pods Namespaced']],
        ['v1beta1', ['nodes Cluster', 'pods Namespaced']],
      ],
    );
    const openapi = await cluster.call('/openapi/v3', {
      cert: cluster.proxyClient,
      headers: { 'X-Remote-User': HPA_USER },
    });
    assert.ok(openapi.body.paths['apis/metrics.k8s.io/v1'] && openapi.body.paths['apis/metrics.k8s.io/v1beta1']);
    const v1 = await cluster.call('/openapi/v3/apis/metrics.k8s.io/v1', {
      cert: cluster.proxyClient,
      headers: { 'X-Remote-User': HPA_USER },
    });
    const podList = v1.body.paths['/apis/metrics.k8s.io/v1/namespaces/{namespace}/pods'].get;
    assert.equal(
      podList.responses['200'].content['application/json'].schema.$ref,
      '#/components/schemas/io.k8s.metrics.pkg.apis.metrics.v1.PodMetricsList',
    );
    assert.ok(v1.body.components.schemas['io.k8s.metrics.pkg.apis.metrics.v1.ContainerMetrics']);
    const before = cluster.kube.subjectAccessReviews.length;
    const denied = await cluster.asAggregator('/apis/metrics.k8s.io/v1/namespaces/shop/pods', 'mallory', []);
    assert.equal(denied.status, 403);
    const review = cluster.kube.subjectAccessReviews.at(before);
    assert.deepEqual(review?.resourceAttributes, {
      verb: 'list',
      group: 'metrics.k8s.io',
      version: 'v1',
      resource: 'pods',
      namespace: 'shop',
    });
  });
});

const kubectl = findKubectl();

describe('kubectl top and get --raw (the real kubectl, through the aggregator)', {
  skip: kubectl ? false : 'kubectl is not installed',
}, () => {
  async function run(...args: string[]): Promise<string> {
    const kubeconfig = await cluster.kube.writeKubeconfig('alice-token', 'alice.kubeconfig');
    const result = await runKubectl(kubectl as string, kubeconfig, args);
    assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr, '', `kubectl ${args.join(' ')} wrote to stderr`);
    return result.stdout;
  }
  const table = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/));

  /** What kubectl top prints for a pod: CPU rounded up to milli-cores, memory down to MiB. */
  function topLine(pod: PodItem): string[] {
    const cpu = pod.containers.reduce((sum, c) => sum + quantity(c.usage.cpu ?? '0'), 0);
    const memory = pod.containers.reduce((sum, c) => sum + quantity(c.usage.memory ?? '0'), 0);
    return [pod.metadata.name, `${Math.ceil(Math.round(cpu * 1e9) / 1e6)}m`, `${Math.floor(memory / 2 ** 20)}Mi`];
  }

  it('top pod, top pod --containers, --sort-by and -A print the served numbers', async () => {
    const shop = (await read('/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods')).items as PodItem[];
    const expected = shop.map(topLine);
    const pods = table(await run('top', 'pod', '-n', 'shop'));
    assert.deepEqual(pods[0], ['NAME', 'CPU(cores)', 'MEMORY(bytes)']);
    assert.deepEqual(pods.slice(1), expected);
    const byCpu = table(await run('top', 'pod', '-n', 'shop', '--sort-by=cpu')).slice(1);
    assert.deepEqual(
      byCpu.map((l) => l[0]),
      ['web-2', 'web-1', 'db-0'],
    );
    const byMemory = table(await run('top', 'pod', '-n', 'shop', '--sort-by=memory')).slice(1);
    assert.deepEqual(
      byMemory.map((l) => l[0]),
      ['db-0', 'web-2', 'web-1'],
    );

    const containers = table(await run('top', 'pod', '-n', 'shop', 'web-1', '--containers'));
    assert.deepEqual(containers, [
      ['POD', 'NAME', 'CPU(cores)', 'MEMORY(bytes)'],
      ['web-1', 'sidecar', '63m', '8Mi'],
      ['web-1', 'web', '250m', '50Mi'],
    ]);
    const all = table(await run('top', 'pod', '-A'));
    assert.deepEqual(all[0], ['NAMESPACE', 'NAME', 'CPU(cores)', 'MEMORY(bytes)']);
    assert.deepEqual(
      all
        .slice(1)
        .map((l) => `${l[0]}/${l[1]}`)
        .sort(),
      ['other/web-1', 'shop/db-0', 'shop/web-1', 'shop/web-2'],
    );
  });

  it('top node prints each node`s usage and share of allocatable', async () => {
    const nodes = table(await run('top', 'node'));
    assert.deepEqual(nodes[0], ['NAME', 'CPU(cores)', 'CPU(%)', 'MEMORY(bytes)', 'MEMORY(%)']);
    const byName = Object.fromEntries(nodes.slice(1).map((l) => [l[0], l.slice(1)]));
    assert.deepEqual(byName['node-1'], ['500m', '25%', '2048Mi', '12%']);
    assert.deepEqual(byName['node-2'], ['1000m', '50%', '4095Mi', '24%']);
  });

  it('get --raw answers both versions with the same items', async () => {
    const bodies = await Promise.all(
      VERSIONS.map(async (v) =>
        JSON.parse(await run('get', '--raw', `/apis/metrics.k8s.io/${v}/namespaces/shop/pods`)),
      ),
    );
    assert.deepEqual(bodies[0].items, bodies[1].items);
    assert.equal(bodies[1].apiVersion, 'metrics.k8s.io/v1');
  });
});
