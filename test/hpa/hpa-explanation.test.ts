import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { controllerRequestOfSpec } from '../../src/hpa/controller-requests.js';
import { explainHpaState, type MetricAnswer } from '../../src/hpa/hpa-explanation.js';
import { parseHpa } from '../../src/hpa/hpa-spec.js';

const HPA = (minReplicas: number, metrics: unknown[]) =>
  parseHpa(
    {
      apiVersion: 'autoscaling/v2',
      metadata: { name: 'worker', namespace: 'batch' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker' },
        minReplicas,
        maxReplicas: 20,
        metrics,
      },
    },
    'test',
  );

const BACKLOG = {
  type: 'External',
  external: {
    metric: { name: 'sqs-queue-length', selector: { matchLabels: { 'queue-name': 'jobs' } } },
    target: { type: 'AverageValue', averageValue: 5 },
  },
};

function explain(minReplicas: number, metrics: unknown[], answers: MetricAnswer[], replicas = 0) {
  const hpa = HPA(minReplicas, metrics);
  const requests = (hpa.spec.metrics ?? []).map((spec) =>
    controllerRequestOfSpec('batch', hpa.spec.scaleTargetRef, spec, BUILTIN_RESOURCES),
  );
  return explainHpaState({
    hpa,
    namespace: 'batch',
    scale: { specReplicas: replicas, statusReplicas: replicas, selector: 'app=worker' },
    pods: [],
    requests,
    answers,
  });
}

describe('explainHpaState', () => {
  it('an external answer with no items is <unknown> with the cause "empty list", as the controller takes it', () => {
    const result = explain(0, [BACKLOG], [{ status: 200, items: [] }]);
    assert.equal(result.metrics[0]?.cause, 'empty list: the controller takes an answer without items as an error');
    assert.equal(result.decision.reason, 'FailedGetMetrics');
    assert.equal(result.decision.replicas, 0);
  });

  it('wakes a pool from zero on 7 messages at 5 per pod: 2 replicas', () => {
    const result = explain(0, [BACKLOG], [{ status: 200, items: [{ value: '7' }] }]);
    assert.equal(result.decision.replicas, 2);
    assert.equal(result.decidingMetric, 'metric 1 (External sqs-queue-length{queue-name=jobs})');
  });

  it('warns when minReplicas is 0 and every metric that can wake the pool is <unknown>', () => {
    const result = explain(0, [BACKLOG], [{ status: 503, reason: 'ServiceUnavailable', message: 'SQS down' }]);
    assert.equal(result.metrics[0]?.cause, '503 backend error: SQS down');
    assert.match(
      result.warnings[0] ?? '',
      /every Object\/External metric is <unknown> now \(metric 1\): at zero replicas the pool stays at zero/,
    );
  });

  it('warns when minReplicas is 0 and only Pods metrics are named', () => {
    const pods = {
      type: 'Pods',
      pods: { metric: { name: 'rps' }, target: { type: 'AverageValue', averageValue: '1' } },
    };
    const result = explain(0, [pods], [{ status: 200, items: [{ name: 'p', value: '1' }] }]);
    assert.match(result.warnings[0] ?? '', /no metric is an Object or External metric/);
  });
});
