import { type ClusterHarness, HPA_USER } from './cluster-harness.js';

/**
 * The static metrics the explain hpa tests ask about: an external queue depth of 7, two worker
 * pods at 30 and 10 requests per second, and a backlog of 12 on Service batch/jobs.
 */
export const STATIC_HPA_METRICS_CONFIG = `
static:
  external:
    - metric: queue-depth
      series: [{ labels: { queue: jobs }, value: 7 }]
  custom:
    - metric: requests-per-second
      resource: pods
      objects:
        - { namespace: batch, name: worker-0, labels: { app: worker }, value: 30 }
        - { namespace: batch, name: worker-1, labels: { app: worker }, value: 10 }
    - metric: backlog
      resource: services
      objects: [{ namespace: batch, name: jobs, value: 12 }]
`;

/** kube-apiserver's aggregator in the harness's kube double: the metrics groups go to its adapter, as the HPA controller. */
export function aggregateToAdapter(cluster: ClusterHarness, user = HPA_USER): void {
  cluster.kube.hpaCluster.aggregator = {
    url: cluster.adapter.baseUrl,
    caPem: cluster.servingCa.cert,
    proxyClient: cluster.proxyClient,
    user,
    groups: ['system:serviceaccounts'],
  };
}
