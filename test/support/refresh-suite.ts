import { after, afterEach, before } from 'node:test';
import { type KubeApiserverDouble, startKubeApiserverDouble } from './kube-apiserver-double.js';
import { type PrometheusServer, type SeriesSpec, startPrometheus, type TimeRange } from './prometheus-server.js';
import { type RefreshReplica, type RefreshReplicaOptions, startRefreshReplica } from './refresh-replica.js';

/** What a suite of HPA-aware refresh tests runs against (refreshSuite). */
export interface RefreshSuite {
  readonly double: KubeApiserverDouble;
  readonly prometheus: PrometheusServer;
  /** One replica's refresher on the double and Prometheus, closed after the test that started it. */
  startReplica(config: string, options?: Pick<RefreshReplicaOptions, 'leadership'>): Promise<RefreshReplica>;
}

/**
 * Registers the hooks of the describe() it is called in: a kube-apiserver double and a Prometheus
 * holding `series(range)` (80 minutes up to an hour ahead, so that every instant query finds its
 * value) started before its tests and stopped after them; after each test, the replicas it started
 * are closed and the double's objects, scales and refusals cleared.
 */
export function refreshSuite(series: (range: TimeRange) => SeriesSpec[]): RefreshSuite {
  let double: KubeApiserverDouble | undefined;
  let prometheus: PrometheusServer | undefined;
  const replicas: RefreshReplica[] = [];
  before(async () => {
    double = await startKubeApiserverDouble();
    const range = { end: Math.floor(Date.now() / 1000) + 3600, seconds: 4800, step: 240 };
    prometheus = await startPrometheus({ series: series(range) });
  });
  afterEach(async () => {
    for (const replica of replicas.splice(0)) await replica.close();
    if (!double) return;
    double.objects.length = 0;
    double.hpaCluster.scales.clear();
    double.forbiddenResources.clear();
  });
  after(async () => {
    await double?.close();
    await prometheus?.stop();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is started by the suite's before hook`);
    return value;
  };
  return {
    get double() {
      return started(double, 'the kube-apiserver double');
    },
    get prometheus() {
      return started(prometheus, 'Prometheus');
    },
    async startReplica(config, options = {}) {
      const { double: kube, prometheus: server } = this;
      const replica = await startRefreshReplica({
        kubeconfigPath: kube.kubeconfigPath,
        config,
        prometheusUrl: server.url,
        ...options,
      });
      replicas.push(replica);
      return replica;
    },
  };
}
