import type { KubeApiserverDouble } from './kube-apiserver-double.js';

/**
 * A MetricDefinition judged without any backend: under FORBIDDEN_QUEUE_POLICY team-b may read only
 * team-b-* queues, so team-b's definition of another team's queue is Forbidden. The status e2e
 * tests use it to see status written with no AWS or Prometheus behind the adapter.
 */
export const FORBIDDEN_QUEUE_POLICY = `
definitions:
  enabled: true
  rules:
    - namespaces: ["team-*"]
      sqs:
        queues: ["\${namespace}-*"]
`;

export const METRIC_DEFINITIONS_REF = {
  group: 'hpa-metrics-adapter.io',
  version: 'v1alpha1',
  resource: 'metricdefinitions',
} as const;

/** Puts team-b's definition `name` of a team-a queue (Forbidden under FORBIDDEN_QUEUE_POLICY). */
export function putForbiddenDefinition(
  kube: KubeApiserverDouble,
  name: string,
  spec: Record<string, unknown> = {},
): void {
  kube.watch.put({
    ...METRIC_DEFINITIONS_REF,
    namespace: 'team-b',
    name,
    generation: 1,
    spec: { sqs: { queueName: `team-a-${name}` }, ...spec },
  });
}

/** The first successful status write of team-b's definition `name`, once there is one. */
export function statusWritten(kube: KubeApiserverDouble, name: string) {
  return kube.writes.find(
    (w) => w.endpoint === 'status' && w.namespace === 'team-b' && w.name === name && w.code === 200,
  );
}
