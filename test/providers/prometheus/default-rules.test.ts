import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GroupResource } from '../../../src/api/group-resource.js';
import { parseSelector } from '../../../src/api/selector.js';
import { deadlineOf } from '../../../src/lib/deadline.js';
import {
  alignedQueryTime,
  counter,
  expectedRate,
  gauge,
  type PrometheusServer,
  type SeriesSpec,
  startPrometheus,
} from '../../support/prometheus-server.js';
import { type BackendUnderTest, startBackend } from './helpers.js';

/**
 * prometheus-adapter's default rule set, as its Helm chart renders it (`rules.default: true`) and
 * its deploy/manifests shipped it with the pre-1.16 `pod_name` / `container_name` labels: cAdvisor
 * `container_*` series become per-pod metrics (counters as 5m rates), every other namespaced series
 * becomes a metric of each resource its labels name, `*_total` counters turned into rates.
 */
const DEFAULT_RULES = (pod: string, container: string) => `
rules:
- seriesQuery: '{__name__=~"^container_.*",${container}!="POD",namespace!="",${pod}!=""}'
  seriesFilters: []
  resources:
    overrides:
      namespace: {resource: namespace}
      ${pod}: {resource: pod}
  name:
    matches: ^container_(.*)_seconds_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,${container}!="POD"}[5m]))
    by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"^container_.*",${container}!="POD",namespace!="",${pod}!=""}'
  seriesFilters:
  - isNot: ^container_.*_seconds_total$
  resources:
    overrides:
      namespace: {resource: namespace}
      ${pod}: {resource: pod}
  name:
    matches: ^container_(.*)_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,${container}!="POD"}[5m]))
    by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"^container_.*",${container}!="POD",namespace!="",${pod}!=""}'
  seriesFilters:
  - isNot: ^container_.*_total$
  resources:
    overrides:
      namespace: {resource: namespace}
      ${pod}: {resource: pod}
  name:
    matches: ^container_(.*)$
    as: ""
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>,${container}!="POD"}) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
  - isNot: .*_total$
  resources:
    template: <<.Resource>>
  name:
    matches: ""
    as: ""
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
  - isNot: .*_seconds_total
  resources:
    template: <<.Resource>>
  name:
    matches: ^(.*)_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters: []
  resources:
    template: <<.Resource>>
  name:
    matches: ^(.*)_seconds_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
`;

const T = alignedQueryTime();
const range = { end: T };

/** The labels the kubelet's /metrics/cadvisor endpoint puts on a container series, as kube-prometheus scrapes it. */
function cadvisor(pod: string, container: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    container,
    endpoint: 'https-metrics',
    id: `/kubepods/burstable/pod-${pod}/${container || 'sandbox'}`,
    image: container === 'POD' ? 'registry.k8s.io/pause:3.9' : `example/${container}:1.0`,
    instance: '10.0.0.1:10250',
    job: 'kubelet',
    metrics_path: '/metrics/cadvisor',
    name: `k8s_${container}_${pod}`,
    namespace: 'default',
    node: 'node-a',
    pod,
    service: 'kubelet',
    ...extra,
  };
}

function series(): SeriesSpec[] {
  return [
    counter('container_cpu_usage_seconds_total', cadvisor('web-1', 'web', { cpu: 'total' }), 0.25, range),
    counter('container_cpu_usage_seconds_total', cadvisor('web-1', 'sidecar', { cpu: 'total' }), 0.125, range),
    counter('container_cpu_usage_seconds_total', cadvisor('web-1', 'POD', { cpu: 'total' }), 0.0625, range),
    counter('container_cpu_usage_seconds_total', cadvisor('web-2', 'web', { cpu: 'total' }), 0.5, range),
    counter('container_cpu_cfs_throttled_seconds_total', cadvisor('web-1', 'web'), 0.03125, range),
    counter(
      'container_network_receive_bytes_total',
      cadvisor('web-1', '', { interface: 'eth0', image: '' }),
      1024,
      range,
    ),
    gauge('container_memory_working_set_bytes', cadvisor('web-1', 'web'), 104_857_600, range),
    gauge('container_memory_working_set_bytes', cadvisor('web-1', 'sidecar'), 20_971_520, range),
    gauge('container_memory_working_set_bytes', cadvisor('web-1', 'POD'), 1_048_576, range),
    // An application scraped through its Service, and kube-state-metrics.
    counter(
      'http_requests_total',
      {
        namespace: 'default',
        pod: 'web-1',
        service: 'web',
        job: 'web',
        instance: '10.1.0.5:8080',
        container: 'web',
        code: '200',
      },
      10,
      range,
    ),
    counter(
      'http_request_duration_seconds_total',
      { namespace: 'default', pod: 'web-1', service: 'web', job: 'web', instance: '10.1.0.5:8080' },
      0.5,
      range,
    ),
    gauge(
      'process_resident_memory_bytes',
      { namespace: 'default', pod: 'web-1', service: 'web', job: 'web', instance: '10.1.0.5:8080' },
      52_428_800,
      range,
    ),
    gauge(
      'kube_deployment_status_replicas',
      { namespace: 'default', deployment: 'web', job: 'kube-state-metrics', instance: '10.1.0.9:8080' },
      3,
      range,
    ),
    // The same cAdvisor series as a pre-1.16 kubelet labelled them.
    counter(
      'container_cpu_usage_seconds_total',
      { namespace: 'legacy', pod_name: 'old-1', container_name: 'app', job: 'kubelet' },
      0.75,
      range,
    ),
    counter(
      'container_cpu_usage_seconds_total',
      { namespace: 'legacy', pod_name: 'old-1', container_name: 'POD', job: 'kubelet' },
      0.25,
      range,
    ),
  ];
}

const PODS: GroupResource = { group: '', resource: 'pods' };
const deadline = deadlineOf(new AbortController().signal);

describe('prometheus-adapter`s default rule set over cAdvisor-shaped data', () => {
  let prometheus: PrometheusServer;
  let current: BackendUnderTest;
  let legacy: BackendUnderTest;

  before(async () => {
    prometheus = await startPrometheus({ series: series() });
    current = await startBackend(DEFAULT_RULES('pod', 'container'), { url: prometheus.url, queryTime: T });
    legacy = await startBackend(DEFAULT_RULES('pod_name', 'container_name'), { url: prometheus.url, queryTime: T });
  });
  after(async () => {
    await current?.backend.close?.();
    await legacy?.backend.close?.();
    await prometheus?.stop();
  });

  const value = async (subject: BackendUnderTest, metric: string, name: string, namespace?: string, resource = PODS) =>
    (
      await subject.backend.custom.getMetricByName({
        object: { resource, name, ...(namespace ? { namespace } : {}) },
        metric,
        metricSelector: parseSelector(''),
        deadline,
      })
    )?.value;

  it('announces the metrics prometheus-adapter announces for this data, jobs from the job label included', () => {
    const names = (current.backend.custom.listCustomMetrics() ?? [])
      .map((m) => `${m.resource.resource}/${m.metric}`)
      .sort();
    assert.deepEqual(names, [
      'deployments/kube_deployment_status_replicas',
      'jobs/http_request_duration',
      'jobs/http_requests',
      'jobs/kube_deployment_status_replicas',
      'jobs/process_resident_memory_bytes',
      'namespaces/cpu_cfs_throttled',
      'namespaces/cpu_usage',
      'namespaces/http_request_duration',
      'namespaces/http_requests',
      'namespaces/kube_deployment_status_replicas',
      'namespaces/memory_working_set_bytes',
      'namespaces/network_receive_bytes',
      'namespaces/process_resident_memory_bytes',
      'pods/cpu_cfs_throttled',
      'pods/cpu_usage',
      'pods/http_request_duration',
      'pods/http_requests',
      'pods/memory_working_set_bytes',
      'pods/network_receive_bytes',
      'pods/process_resident_memory_bytes',
      'services/http_request_duration',
      'services/http_requests',
      'services/process_resident_memory_bytes',
    ]);
  });

  it('turns container *_seconds_total into per-pod rates, leaving out the POD sandbox', async () => {
    assert.equal(
      await value(current, 'cpu_usage', 'web-1', 'default'),
      expectedRate(0.25, 300) + expectedRate(0.125, 300),
    );
    assert.equal(await value(current, 'cpu_usage', 'web-2', 'default'), expectedRate(0.5, 300));
    assert.equal(await value(current, 'cpu_cfs_throttled', 'web-1', 'default'), expectedRate(0.03125, 300));
    assert.equal(
      current.cache.keys.at(-1),
      'sum(rate(container_cpu_cfs_throttled_seconds_total{namespace="default",pod="web-1",container!="POD"}[5m])) by (pod)',
    );
  });

  it('turns other container *_total counters into rates and keeps gauges as they are', async () => {
    assert.equal(await value(current, 'network_receive_bytes', 'web-1', 'default'), expectedRate(1024, 300));
    assert.equal(await value(current, 'memory_working_set_bytes', 'web-1', 'default'), 125_829_120);
  });

  it('sums a namespace over its pods', async () => {
    const namespaces = { group: '', resource: 'namespaces' };
    assert.equal(await value(current, 'memory_working_set_bytes', 'default', undefined, namespaces), 125_829_120);
  });

  it('maps application labels to pods, services and deployments through the <<.Resource>> template', async () => {
    assert.equal(await value(current, 'http_requests', 'web-1', 'default'), expectedRate(10, 300));
    assert.equal(
      await value(current, 'http_requests', 'web', 'default', { group: '', resource: 'services' }),
      expectedRate(10, 300),
    );
    assert.equal(await value(current, 'http_request_duration', 'web-1', 'default'), expectedRate(0.5, 300));
    assert.equal(await value(current, 'process_resident_memory_bytes', 'web-1', 'default'), 52_428_800);
    assert.equal(
      await value(current, 'kube_deployment_status_replicas', 'web', 'default', {
        group: 'apps',
        resource: 'deployments',
      }),
      3,
    );
  });

  it('serves the legacy pod_name / container_name labels with the manifests` rules', async () => {
    assert.equal(await value(legacy, 'cpu_usage', 'old-1', 'legacy'), expectedRate(0.75, 300));
    assert.equal(
      legacy.cache.keys.at(-1),
      'sum(rate(container_cpu_usage_seconds_total{namespace="legacy",pod_name="old-1",container_name!="POD"}[5m])) by (pod_name)',
    );
  });
});
