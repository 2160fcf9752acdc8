import { counter, gauge, type SeriesSpec } from '../../support/prometheus-server.js';

/**
 * One small cluster's worth of series and the rules that serve them, shared by the Prometheus
 * integration tests. Counters grow linearly, so every rate() is exact; gauges are constant.
 */
export function clusterSeries(end: number): SeriesSpec[] {
  const range = { end };
  return [
    counter('http_requests_total', { namespace: 'default', pod: 'web-1', service: 'web', verb: 'GET' }, 2.5, range),
    counter('http_requests_total', { namespace: 'default', pod: 'web-1', service: 'web', verb: 'POST' }, 0.5, range),
    counter('http_requests_total', { namespace: 'default', pod: 'web-2', service: 'web', verb: 'GET' }, 1, range),
    counter('http_requests_total', { namespace: 'other', pod: 'web-1', service: 'web', verb: 'GET' }, 7, range),
    gauge('queue_messages_ready', { namespace: 'default', deployment: 'worker', queue: 'jobs' }, 42, range),
    gauge('queue_messages_ready', { namespace: 'default', deployment: 'worker', queue: 'emails' }, 7, range),
    counter(
      'nginx_ingress_controller_requests_total',
      { namespace: 'default', ingress: 'shop', status: '200' },
      12,
      range,
    ),
    counter(
      'nginx_ingress_controller_requests_total',
      { namespace: 'default', ingress: 'shop', status: '500' },
      0.25,
      range,
    ),
    gauge('node_load1', { node: 'node-a', instance: '10.0.0.1:9100' }, 1.5, range),
    gauge('namespace_budget', { namespace: 'team-a' }, 7, range),
    gauge('flaky_gauge', { namespace: 'default', pod: 'web-1' }, Number.NaN, range),
    gauge('flaky_gauge', { namespace: 'default', pod: 'web-2' }, 3, range),
    counter('app_errors_total', { namespace: 'default', pod: 'web-1' }, 0.75, range),
    counter('app_latency_seconds_total', { namespace: 'default', pod: 'web-1' }, 0.125, range),
    gauge('stale_metric', { namespace: 'default', pod: 'web-1' }, 1, { end: end - 7200 }),
    gauge('queue_depth', { namespace: 'team-a', queue: 'jobs', env: 'prod' }, 42, range),
    gauge('queue_depth', { namespace: 'team-a', queue: 'jobs', env: 'dev' }, 100, range),
    gauge('queue_depth', { namespace: 'team-a', queue: 'emails', env: 'prod' }, 7, range),
    gauge('queue_depth', { namespace: 'team-a', queue: 'legacy' }, 3, range),
    gauge('queue_depth', { namespace: 'team-b', queue: 'jobs', env: 'prod' }, 1000, range),
    gauge('kafka_consumergroup_lag', { topic: 'orders', consumergroup: 'billing' }, 250, range),
    gauge('kafka_consumergroup_lag', { topic: 'orders', consumergroup: 'audit' }, 50, range),
  ];
}

const POD_OVERRIDES = `
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}`;

/**
 * The rules, written as a prometheus-adapter file (top-level rules and externalRules); flaky_gauge's
 * rule reads NaN as no data (our `nan` field), so its NaN pod has none.
 */
export const CLUSTER_RULES = `
rules:
- seriesQuery: '{__name__="http_requests_total",namespace!="",pod!=""}'
  resources:${POD_OVERRIDES}
      service: {resource: service}
  name: {matches: "^(.*)_total$", as: "\${1}_per_second"}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
- seriesQuery: 'queue_messages_ready{deployment!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      deployment: {group: apps, resource: deployment}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: 'nginx_ingress_controller_requests_total{namespace!="",ingress!=""}'
  resources:
    template: <<.Resource>>
  name: {matches: "^nginx_ingress_controller_(.*)_total$", as: "ingress_\${1}_per_second"}
  metricsQuery: |
    sum by (<<.GroupBy>>) (
      rate(<<.Series>>{<<.LabelMatchers>>}[2m])
    )
- seriesQuery: node_load1
  resources:
    overrides: {node: {resource: node}}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: namespace_budget
  resources:
    overrides: {namespace: {resource: namespace}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: namespace_budget
  resources:
    overrides: {namespace: {resource: namespace}}
  name: {as: broken_query}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>) +
- seriesQuery: flaky_gauge
  resources:${POD_OVERRIDES}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
  nan: noData
- seriesQuery: '{__name__=~"^app_.*_total$",namespace!="",pod!=""}'
  seriesFilters:
  - isNot: ^app_.*_seconds_total$
  resources:${POD_OVERRIDES}
  name: {matches: "^app_(.*)_total$", as: "\${1}_rate"}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"^app_.*_total$",namespace!="",pod!=""}'
  resources:${POD_OVERRIDES}
  name: {matches: "^app_(.*)_seconds_total$"}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
- seriesQuery: stale_metric
  resources:${POD_OVERRIDES}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: '{__name__="queue_depth",queue!=""}'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
- seriesQuery: kafka_consumergroup_lag
  name: {as: kafka_consumer_lag}
  resources: {namespaced: false}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (topic)
`;

/**
 * The rules of the series-discovery tests (a Prometheus section's body): a pods metric and two
 * external queue metrics, each found by a seriesQuery that names its series.
 */
export const WAITING_RULES = `
  rules:
    - seriesQuery: '{__name__="queue_lag",namespace!="",pod!=""}'
      resources: { overrides: { namespace: { resource: namespace }, pod: { resource: pod } } }
      metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
  externalRules:
    - seriesQuery: '{__name__="jobs_waiting"}'
      metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
    - seriesQuery: '{__name__="builds_waiting"}'
      metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`;
