import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startClusterHarness } from '../support/cluster-harness.js';
import { gauge, startPrometheus } from '../support/prometheus-server.js';
import { startedForFile } from '../support/started-for-file.js';

/**
 * Resource names resolved from the cluster's own discovery (the kube-apiserver double: a 1.30
 * server with Argo Rollouts installed), the way prometheus-adapter resolves them through its
 * RESTMapper: a `<<.Resource>>` template and overrides name a CRD and `secrets`, against a real
 * Prometheus, and the HPA's requests for them are answered with the cluster's kinds.
 */

const CONFIG = `
prometheus:
  rules:
    - seriesQuery: '{__name__=~"^kube_.*_age_seconds$",namespace!=""}'
      resources: { template: "<<.Resource>>" }
      name: { matches: "^kube_(.*)_age_seconds$", as: "\${1}_age_seconds" }
      metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
    - seriesQuery: 'argo_rollout_replicas{namespace!="",name!=""}'
      resources: { overrides: { namespace: { resource: namespace }, name: { group: argoproj.io, resource: rollout } } }
      metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`;

const prometheus = startedForFile(
  () => {
    const now = Math.floor(Date.now() / 1000);
    const range = { end: now + 900, seconds: 2700 };
    return startPrometheus({
      series: [
        gauge('kube_rollout_age_seconds', { namespace: 'shop', rollout: 'web', instance: 'ksm:8080' }, 120, range),
        gauge('kube_secret_age_seconds', { namespace: 'shop', secret: 'tls', instance: 'ksm:8080' }, 3600, range),
        gauge(
          'kube_lease_age_seconds',
          { namespace: 'kube-system', lease: 'scheduler', instance: 'ksm:8080' },
          7,
          range,
        ),
        gauge('argo_rollout_replicas', { namespace: 'shop', name: 'web' }, 4, range),
      ],
    });
  },
  (server) => server.stop(),
);
const cluster = startedForFile(() =>
  startClusterHarness({ config: CONFIG, extraArgs: [`--prometheus-url=${prometheus.url}`, '--metrics-max-age=1h'] }),
);

describe('resource names from the cluster discovery', () => {
  it('a resources.template rule announces metrics for a CRD, secrets and leases, and none for the instance label', async () => {
    const answer = await cluster.asAggregator('/apis/custom.metrics.k8s.io/v1beta2');
    assert.equal(answer.status, 200);
    const names = answer.body.resources.map((r: { name: string }) => r.name).sort();
    assert.deepEqual(names, [
      'discovery-placeholder',
      'leases.coordination.k8s.io/lease_age_seconds',
      'namespaces/argo_rollout_replicas',
      'namespaces/lease_age_seconds',
      'namespaces/rollout_age_seconds',
      'namespaces/secret_age_seconds',
      'rollouts.argoproj.io/argo_rollout_replicas',
      'rollouts.argoproj.io/rollout_age_seconds',
      'secrets/secret_age_seconds',
    ]);
  });

  it("answers the HPA for a Rollout with the CRD's kind and version, by any name kubectl accepts", async () => {
    for (const resource of ['rollouts.argoproj.io', 'rollout.argoproj.io', 'rollouts']) {
      const answer = await cluster.asAggregator(
        `/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/${resource}/web/rollout_age_seconds`,
      );
      assert.equal(answer.status, 200, `${resource}: ${JSON.stringify(answer.body)}`);
      assert.deepEqual(answer.body.items[0].describedObject, {
        kind: 'Rollout',
        namespace: 'shop',
        name: 'web',
        apiVersion: 'argoproj.io/v1alpha1',
      });
      assert.equal(answer.body.items[0].value, '120');
    }
    const byOverride = await cluster.asAggregator(
      '/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/rollouts.argoproj.io/web/argo_rollout_replicas',
    );
    assert.equal(byOverride.status, 200, JSON.stringify(byOverride.body));
    assert.equal(byOverride.body.items[0].value, '4');
  });

  it('answers for a secret and a lease with their core and coordination.k8s.io kinds', async () => {
    const secret = await cluster.asAggregator(
      '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/secrets/tls/secret_age_seconds',
    );
    assert.equal(secret.status, 200, JSON.stringify(secret.body));
    assert.deepEqual(secret.body.items[0].describedObject, {
      kind: 'Secret',
      namespace: 'shop',
      name: 'tls',
      apiVersion: '/v1',
    });
    const lease = await cluster.asAggregator(
      '/apis/custom.metrics.k8s.io/v1beta2/namespaces/kube-system/leases.coordination.k8s.io/scheduler/lease_age_seconds',
    );
    assert.equal(lease.status, 200, JSON.stringify(lease.body));
    assert.equal(lease.body.items[0].describedObject.apiVersion, 'coordination.k8s.io/v1');
  });

  it('a resource the cluster does not serve is a 404 Status naming it', async () => {
    const answer = await cluster.asAggregator(
      '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/widgets.example.com/w/rollout_age_seconds',
    );
    assert.equal(answer.status, 404);
    assert.equal(answer.body.kind, 'Status');
    assert.match(answer.body.message, /resource "widgets\.example\.com" is not served.*cluster's API discovery/);
  });
});
