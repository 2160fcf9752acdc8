import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startClusterHarness } from '../support/cluster-harness.js';
import { explain } from '../support/explain.js';
import { aggregateToAdapter, STATIC_HPA_METRICS_CONFIG } from '../support/hpa-fixtures.js';
import type { StoredObject } from '../support/kube-apiserver-double.js';
import { setUpForFile, startedForFile } from '../support/started-for-file.js';

/**
 * `explain hpa` against a cluster: the kube double serves the HPAs, their targets' scale and the
 * pods, and forwards the metrics groups to the real adapter process as the aggregator does, so
 * every request explain prints is the one the HPA controller sends, answered by the adapter.
 */

const CONFIG = STATIC_HPA_METRICS_CONFIG;

function hpa(name: string, target: string, metrics: unknown[]): StoredObject {
  return {
    group: 'autoscaling',
    version: 'v2',
    resource: 'horizontalpodautoscalers',
    namespace: 'batch',
    name,
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
      minReplicas: 1,
      maxReplicas: 10,
      metrics,
    },
  };
}

const QUEUE_DEPTH = (target: Record<string, unknown>) => ({
  type: 'External',
  external: { metric: { name: 'queue-depth', selector: { matchLabels: { queue: 'jobs' } } }, target },
});
const RPS = {
  type: 'Pods',
  pods: { metric: { name: 'requests-per-second' }, target: { type: 'AverageValue', averageValue: '10' } },
};

const cluster = startedForFile(() => startClusterHarness({ config: CONFIG }));

setUpForFile(() => {
  const { hpaCluster } = cluster.kube;
  aggregateToAdapter(cluster);
  cluster.kube.objects.push(
    hpa('worker', 'worker', [
      RPS,
      {
        type: 'Object',
        object: {
          describedObject: { apiVersion: 'v1', kind: 'Service', name: 'jobs' },
          metric: { name: 'backlog' },
          target: { type: 'Value', value: '6' },
        },
      },
      QUEUE_DEPTH({ type: 'AverageValue', averageValue: '1' }),
    ]),
    hpa('ghost', 'ghost', [RPS, QUEUE_DEPTH({ type: 'Value', value: '2' })]),
    hpa('orphan', 'gone', [RPS]),
    hpa('missing', 'worker', [
      { type: 'External', external: { metric: { name: 'no-such-metric' }, target: { type: 'Value', value: '1' } } },
      {
        type: 'External',
        external: {
          metric: { name: 'queue-depth', selector: { matchLabels: { queue: 'nothing' } } },
          target: { type: 'Value', value: '1' },
        },
      },
    ]),
  );
  hpaCluster.scales.set('apps/deployments/batch/worker', {
    specReplicas: 2,
    statusReplicas: 2,
    selector: 'app=worker',
  });
  hpaCluster.scales.set('apps/deployments/batch/ghost', { specReplicas: 1, statusReplicas: 1, selector: 'app=ghost' });
  hpaCluster.pods.push(
    { namespace: 'batch', name: 'worker-0', labels: { app: 'worker' } },
    { namespace: 'batch', name: 'worker-1', labels: { app: 'worker' } },
  );
});

function explainHpa(...argv: string[]): Promise<{ code: number; text: string }> {
  return explain('hpa', ...argv, '--kubeconfig', cluster.kube.kubeconfigPath);
}

describe('explain hpa NAMESPACE/NAME against a cluster', () => {
  it('prints the requests the controller makes, each proposal and rule, and the count it sets', async () => {
    const { code, text } = await explainHpa('batch/worker');
    assert.equal(code, 0, text);
    const lines = text.split('\n');
    const pods =
      '/apis/custom.metrics.k8s.io/v1beta2/namespaces/batch/pods/*/requests-per-second?labelSelector=app%3Dworker';
    const object = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/batch/services/jobs/backlog';
    const external = '/apis/external.metrics.k8s.io/v1beta1/namespaces/batch/queue-depth?labelSelector=queue%3Djobs';
    for (const path of [pods, object, external]) {
      assert.ok(lines.includes(`  request: GET ${path}`), text);
      assert.ok(cluster.kube.hpaCluster.forwarded.includes(path), `${path} went through the aggregator`);
    }
    // average (30 + 10) / 2 = 20 over 10: ratio 2 × 2 pods; 12 / 6 × 2 ready pods; 7 / 1.
    assert.match(
      text,
      /metric 1: Pods requests-per-second[^\n]*\n[^\n]*\n[^\n]*\n[^\n]*\n {2}proposal: 4 replicas \(usage ratio × ready pods\)/,
    );
    assert.match(
      text,
      /metric 2: Object backlog of Service\/jobs[\s\S]*?proposal: 4 replicas \(usage ratio × ready pods\)/,
    );
    assert.match(
      text,
      /metric 3: External queue-depth\{queue=jobs\}[\s\S]*?proposal: 7 replicas \(total ÷ target per pod\)/,
    );
    // Without behavior the controller adds at most max(2 × 2, 4) in one step.
    assert.match(
      text,
      /^result: 4 replicas \(ScaleUpLimit: [^)]*\), decided by metric 3 \(External queue-depth\{queue=jobs\}\)$/m,
    );
  });

  it('names the cause of each <unknown>: a selector matching no pods, a metric or series not served', async () => {
    const ghost = await explainHpa('batch/ghost');
    assert.equal(ghost.code, 1, ghost.text);
    assert.match(
      ghost.text,
      /metric 1: Pods[\s\S]*?proposal: <unknown>: 404 not served: no pods [^\n]*"app=ghost" have data/,
    );
    assert.match(ghost.text, /metric 2: External[\s\S]*?proposal: <unknown>: the selector "app=ghost" matches no pods/);
    assert.match(ghost.text, /^result: 1 replicas \(FailedGetMetrics: /m);
    const missing = await explainHpa('batch/missing');
    assert.equal(missing.code, 1);
    assert.match(missing.text, /answer: 404 NotFound: /);
    assert.match(missing.text, /metric 1:[\s\S]*?proposal: <unknown>: 404 not served: [^\n]*no-such-metric/);
    // The adapter answers a selector with no series 404 itself, never an empty list (test/hpa has that cause).
    assert.match(
      missing.text,
      /metric 2:[\s\S]*?proposal: <unknown>: 404 not served: no series of external metric "queue-depth"/,
    );
  });

  it('names RBAC when the adapter refuses the controller (403)', async () => {
    aggregateToAdapter(cluster, 'system:serviceaccount:kube-system:someone-else');
    try {
      const { code, text } = await explainHpa('batch/worker');
      assert.equal(code, 1);
      assert.match(text, /metric 3: External[\s\S]*?proposal: <unknown>: 403 RBAC: /);
    } finally {
      aggregateToAdapter(cluster);
    }
  });

  it('-n NAMESPACE prints one line per HPA; -o json the explanation', async () => {
    const list = await explainHpa('-n', 'batch');
    const lines = list.text.trim().split('\n');
    assert.equal(list.code, 3, 'an HPA whose target cannot be read');
    assert.equal(lines.length, 4, list.text);
    assert.match(lines[2] ?? '', /^orphan {2}cannot be read: GET [^ ]*\/deployments\/gone\/scale: 404 NotFound: /);
    assert.match(
      lines[3] ?? '',
      /^worker {2}Deployment\/worker {2}replicas 2 → 4 \(ScaleUpLimit\) {2}decided by metric 3/,
    );
    assert.match(lines[0] ?? '', /^ghost .*metric 2 <unknown>: the selector "app=ghost" matches no pods/);
    const json = await explainHpa('batch/worker', '-o', 'json');
    const parsed = JSON.parse(json.text);
    assert.equal(parsed.decision.replicas, 4);
    assert.equal(parsed.metrics[2].proposal.replicas, 7);
    assert.equal(
      parsed.metrics[2].request.path,
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/batch/queue-depth?labelSelector=queue%3Djobs',
    );
  });

  it("says which HPA is missing, with the API server's message, and exits 3", async () => {
    const { code, text } = await explainHpa('batch/nope');
    assert.equal(code, 3);
    assert.match(
      text,
      /^explain hpa: GET \/apis\/autoscaling\/v2\/namespaces\/batch\/horizontalpodautoscalers\/nope: 404 NotFound: horizontalpodautoscalers(\.autoscaling)? "nope" not found$/m,
    );
  });
});
