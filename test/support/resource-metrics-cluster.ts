import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type ClusterHarness, HPA_USER } from './cluster-harness.js';
import type { KubeApiserverDouble } from './kube-apiserver-double.js';
import { counter, gauge, type SeriesSpec } from './prometheus-server.js';

/**
 * A small cluster as cAdvisor, node-exporter and kube-state-metrics describe it to a
 * kube-prometheus Prometheus, and as the kube-apiserver double lists it: two namespaces, pods
 * with sidecars and an init container, a pod too new for `irate`, a pod and a node with no series,
 * a series for a pod that is gone. Shared by the metrics.k8s.io end-to-end tests and bench.
 */

/** kube-prometheus's adapter config (resourceRules only), as its manifests carry it. */
export const KUBE_PROMETHEUS_CONFIG = fileURLToPath(
  new URL('../fixtures/kube-prometheus/adapter-config.yaml', import.meta.url),
);

export function kubePrometheusConfig(): Promise<string> {
  return readFile(KUBE_PROMETHEUS_CONFIG, 'utf8');
}

interface ContainerSpec {
  namespace: string;
  pod: string;
  container: string;
  /** Cores; absent: no CPU counter yet (a container too new for irate). */
  cpu?: number;
  memory: number;
}

const MI = 1024 * 1024;

export const CONTAINERS: readonly ContainerSpec[] = [
  { namespace: 'shop', pod: 'web-1', container: 'web', cpu: 0.25, memory: 50 * MI + 4096 },
  { namespace: 'shop', pod: 'web-1', container: 'sidecar', cpu: 0.0625, memory: 8 * MI },
  { namespace: 'shop', pod: 'web-2', container: 'web', cpu: 0.5, memory: 100 * MI + 12288 },
  { namespace: 'shop', pod: 'db-0', container: 'init-schema', cpu: 0.125, memory: 4 * MI + 4096 },
  { namespace: 'shop', pod: 'db-0', container: 'db', memory: 256 * MI },
  { namespace: 'shop', pod: 'gone-1', container: 'web', cpu: 1, memory: MI },
  { namespace: 'other', pod: 'web-1', container: 'web', cpu: 1.5, memory: 10 * MI },
];

interface NodeSpec {
  name: string;
  /** Per-CPU idle rate, for two CPUs. */
  idle: number;
  total: number;
  available: number;
}

export const NODES: readonly NodeSpec[] = [
  { name: 'node-1', idle: 0.75, total: 8192 * MI, available: 6144 * MI },
  { name: 'node-2', idle: 0.5, total: 16384 * MI, available: 12288 * MI + 12288 },
];

/** Every series, ending `aheadSeconds` past now so the adapter's own clock finds them. */
export function clusterSeries(aheadSeconds = 900): SeriesSpec[] {
  const range = { end: Math.floor(Date.now() / 1000) + aheadSeconds, seconds: 1800 };
  const series: SeriesSpec[] = [];
  for (const c of CONTAINERS) {
    const labels = {
      namespace: c.namespace,
      pod: c.pod,
      container: c.container,
      job: 'kubelet',
      image: `${c.container}:1`,
    };
    if (c.cpu !== undefined) series.push(counter('container_cpu_usage_seconds_total', labels, c.cpu, range));
    series.push(gauge('container_memory_working_set_bytes', labels, c.memory, range));
  }
  // The pod's own cgroup, as cAdvisor reports it (container=""): not a container.
  series.push(
    counter(
      'container_cpu_usage_seconds_total',
      { namespace: 'shop', pod: 'web-1', container: '', job: 'kubelet' },
      0.3125,
      range,
    ),
  );
  NODES.forEach((node, i) => {
    const pod = `node-exporter-${i}`;
    for (const cpu of ['0', '1']) {
      series.push(
        counter(
          'node_cpu_seconds_total',
          { cpu, mode: 'idle', namespace: 'monitoring', pod, job: 'node-exporter', instance: node.name },
          node.idle,
          range,
        ),
      );
    }
    series.push(
      gauge('node_namespace_pod:kube_pod_info:', { namespace: 'monitoring', pod, node: node.name }, 1, range),
    );
    const job = { job: 'node-exporter', instance: node.name };
    series.push(gauge('node_memory_MemTotal_bytes', job, node.total, range));
    series.push(gauge('node_memory_MemAvailable_bytes', job, node.available, range));
  });
  return series;
}

export const POD_LABELS: Readonly<Record<string, Record<string, string>>> = {
  'shop/web-1': { app: 'web' },
  'shop/web-2': { app: 'web' },
  'shop/db-0': { app: 'db' },
  'shop/ghost': { app: 'web' },
  'other/web-1': { app: 'web' },
};

/** The pods and nodes the API server has: `ghost` and `node-3` have no series, `gone-1` is gone. */
export function putClusterObjects(kube: KubeApiserverDouble): void {
  for (const [key, labels] of Object.entries(POD_LABELS)) {
    const [namespace = '', name = ''] = key.split('/');
    kube.watch.put({ group: '', version: 'v1', resource: 'pods', namespace, name, labels });
  }
  for (const name of ['node-1', 'node-2', 'node-3']) {
    kube.watch.put({
      group: '',
      version: 'v1',
      resource: 'nodes',
      name,
      labels: { 'kubernetes.io/hostname': name },
      status: { allocatable: { cpu: '2', memory: '16Gi' }, capacity: { cpu: '2', memory: '16Gi' } },
    });
  }
}

/**
 * The cluster of putClusterObjects around a harness's adapter: the HPA and alice (token
 * `alice-token`, for kubectl) may read metrics.k8s.io, and the double hands the group to the
 * adapter as kube-apiserver's aggregator does, so kubectl talks to the double only.
 */
export function serveResourceMetricsThroughDouble(cluster: ClusterHarness): void {
  cluster.kube.allowRules.push({ user: HPA_USER, group: 'metrics.k8s.io' }, { user: 'alice', group: 'metrics.k8s.io' });
  putClusterObjects(cluster.kube);
  cluster.kube.aggregated.set('metrics.k8s.io', {
    url: cluster.adapter.baseUrl,
    ca: cluster.servingCa.cert,
    cert: cluster.proxyClient.chain,
    key: cluster.proxyClient.key,
  });
  cluster.kube.tokens.set('alice-token', { username: 'alice', groups: ['system:authenticated'] });
  cluster.kube.clientTokens.add('alice-token');
}
