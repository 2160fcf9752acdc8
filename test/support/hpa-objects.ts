import type { StoredObject } from './kube-apiserver-double.js';

/** One metric of an HPA as a test writes it; turned into the autoscaling/v2 MetricSpec the API server serves. */
export interface HpaMetricInput {
  type: 'External' | 'Pods' | 'Object' | 'Resource';
  name: string;
  matchLabels?: Record<string, string>;
  describedObject?: { apiVersion: string; kind: string; name: string };
}

/** An autoscaling/v2 HorizontalPodAutoscaler for the kube-apiserver double, scaling the Deployment of its own name. */
export function hpaObject(namespace: string, name: string, metrics: HpaMetricInput[]): StoredObject {
  return {
    group: 'autoscaling',
    version: 'v2',
    resource: 'horizontalpodautoscalers',
    namespace,
    name,
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: metrics.map(metricSpec),
    },
  };
}

function metricSpec(input: HpaMetricInput): Record<string, unknown> {
  const target = { type: 'AverageValue', averageValue: '10' };
  const metric = { name: input.name, ...(input.matchLabels ? { selector: { matchLabels: input.matchLabels } } : {}) };
  switch (input.type) {
    case 'External':
      return { type: 'External', external: { metric, target } };
    case 'Pods':
      return { type: 'Pods', pods: { metric, target } };
    case 'Object':
      return {
        type: 'Object',
        object: { describedObject: input.describedObject, metric, target: { type: 'Value', value: '10' } },
      };
    case 'Resource':
      return {
        type: 'Resource',
        resource: { name: input.name, target: { type: 'Utilization', averageUtilization: 80 } },
      };
  }
}
