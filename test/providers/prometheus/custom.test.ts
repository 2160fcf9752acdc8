import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import request from 'supertest';
import { ApiError } from '../../../src/api/errors.js';
import { parseSelector } from '../../../src/api/selector.js';
import {
  type ClosableKubeClient,
  createKubeClient,
  createObjectInformers,
  loadKubeConfig,
} from '../../../src/kube/index.js';
import { deadlineOf } from '../../../src/lib/deadline.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { CustomMetricInfo } from '../../../src/providers/provider.js';
import { buildTestApp } from '../../support/app.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../../support/kube-apiserver-double.js';
import {
  alignedQueryTime,
  expectedRate,
  type PrometheusServer,
  startPrometheus,
} from '../../support/prometheus-server.js';
import { CLUSTER_RULES, clusterSeries } from './fixtures.js';
import { type BackendUnderTest, keepingCache, startBackend } from './helpers.js';

const T = alignedQueryTime();
const PODS = { group: '', resource: 'pods' };
const CUSTOM = '/apis/custom.metrics.k8s.io/v1beta2';
const all = parseSelector('');
const deadline = deadlineOf(new AbortController().signal);

function announced(list: readonly CustomMetricInfo[]): string[] {
  return list
    .map(
      (m) =>
        `${m.resource.resource}${m.resource.group ? `.${m.resource.group}` : ''}/${m.metric}${m.namespaced ? '' : ' (root)'}`,
    )
    .sort();
}

describe('Prometheus custom metrics against a real Prometheus', () => {
  let prometheus: PrometheusServer;
  let kubeDouble: KubeApiserverDouble;
  let kube: ClosableKubeClient;
  let standalone: BackendUnderTest;
  let withKube: BackendUnderTest;

  before(async () => {
    prometheus = await startPrometheus({ series: clusterSeries(T) });
    kubeDouble = await startKubeApiserverDouble();
    const loaded = loadKubeConfig(kubeDouble.kubeconfigPath);
    assert.ok(loaded);
    kube = createKubeClient(loaded.kubeConfig);
    kubeDouble.objects.push(
      { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'web-1', labels: { app: 'web' } },
      { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'web-2', labels: { app: 'web' } },
      { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'web-3', labels: { app: 'web' } },
      { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'db-1', labels: { app: 'db' } },
      { group: '', version: 'v1', resource: 'pods', namespace: 'other', name: 'web-1', labels: { app: 'web' } },
      {
        group: 'apps',
        version: 'v1',
        resource: 'deployments',
        namespace: 'default',
        name: 'worker',
        labels: { tier: 'jobs' },
      },
      { group: '', version: 'v1', resource: 'nodes', name: 'node-a', labels: { zone: 'a' } },
    );
    standalone = await startBackend(CLUSTER_RULES, { url: prometheus.url, queryTime: T });
    withKube = await startBackend(CLUSTER_RULES, { url: prometheus.url, queryTime: T, kube });
  });

  after(async () => {
    await standalone?.backend.close?.();
    await withKube?.backend.close?.();
    kube?.close();
    await kubeDouble?.close();
    await prometheus?.stop();
  });

  const byName = (metric: string, name: string, namespace?: string, resource = PODS, metricSelector = all) =>
    standalone.backend.custom.getMetricByName({
      object: { resource, name, ...(namespace ? { namespace } : {}) },
      metric,
      metricSelector,
      deadline,
    });

  it('announces every metric the rules derive, with resources from overrides and templates', () => {
    assert.deepEqual(announced(standalone.backend.custom.listCustomMetrics() ?? []), [
      'deployments.apps/queue_messages_ready',
      'ingresses.networking.k8s.io/ingress_requests_per_second',
      'namespaces/broken_query (root)',
      'namespaces/errors_rate (root)',
      'namespaces/flaky_gauge (root)',
      'namespaces/http_requests_per_second (root)',
      'namespaces/ingress_requests_per_second (root)',
      'namespaces/latency (root)',
      'namespaces/namespace_budget (root)',
      'namespaces/queue_messages_ready (root)',
      'nodes/node_load1 (root)',
      'pods/errors_rate',
      'pods/flaky_gauge',
      'pods/http_requests_per_second',
      'pods/latency',
      'services/http_requests_per_second',
    ]);
  });

  it('runs each distinct seriesQuery once per relist, with start = now - max age', async () => {
    const calls = await standalone.registry.getSingleMetric('hpa_metrics_adapter_prometheus_calls_total')?.get();
    const series = calls?.values.find((v) => v.labels.endpoint === 'series' && v.labels.outcome === 'success');
    assert.equal(series?.value, 10, '12 rules, two pairs of which share a seriesQuery');
  });

  it('answers a per-pod rate for one pod, summed over its series', async () => {
    const sample = await byName('http_requests_per_second', 'web-1', 'default');
    assert.equal(sample?.value, 3);
    assert.equal(sample?.timestamp.getTime(), T * 1000, 'the sample time is the evaluation time');
    assert.deepEqual(
      standalone.cache.keys.at(-1),
      'sum(rate(http_requests_total{namespace="default",pod="web-1"}[5m])) by (pod)',
    );
  });

  it('keeps namespaces apart: the same pod name elsewhere has its own value', async () => {
    assert.equal((await byName('http_requests_per_second', 'web-1', 'other'))?.value, expectedRate(7, 300));
  });

  it('narrows the series with metricLabelSelector', async () => {
    assert.equal(
      (await byName('http_requests_per_second', 'web-1', 'default', PODS, parseSelector('verb=GET')))?.value,
      2.5,
    );
    assert.equal(
      (await byName('http_requests_per_second', 'web-1', 'default', PODS, parseSelector('verb in (POST)')))?.value,
      0.5,
    );
  });

  it('answers object metrics for services, deployments and ingresses', async () => {
    assert.equal(
      (await byName('http_requests_per_second', 'web', 'default', { group: '', resource: 'services' }))?.value,
      4,
    );
    assert.equal(
      (await byName('queue_messages_ready', 'worker', 'default', { group: 'apps', resource: 'deployments' }))?.value,
      49,
    );
    const ingress = { group: 'networking.k8s.io', resource: 'ingresses' };
    assert.equal((await byName('ingress_requests_per_second', 'shop', 'default', ingress))?.value, 12.25);
  });

  it('answers root-scoped nodes and namespace metrics', async () => {
    assert.equal((await byName('node_load1', 'node-a', undefined, { group: '', resource: 'nodes' }))?.value, 1.5);
    const namespaces = { group: '', resource: 'namespaces' };
    assert.equal((await byName('namespace_budget', 'team-a', undefined, namespaces))?.value, 7);
    assert.equal((await byName('http_requests_per_second', 'default', undefined, namespaces))?.value, 4);
  });

  it('applies series filters and name rewriting: errors_rate and latency from one seriesQuery', async () => {
    assert.equal((await byName('errors_rate', 'web-1', 'default'))?.value, 0.75);
    assert.equal((await byName('latency', 'web-1', 'default'))?.value, 0.125);
  });

  it('never emits NaN: the NaN pod has no data (404), the other pod answers', async () => {
    assert.equal((await byName('flaky_gauge', 'web-2', 'default'))?.value, 3);
    await assert.rejects(byName('flaky_gauge', 'web-1', 'default'), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.reason, 'NotFound');
      assert.match(
        error.message,
        /prometheus has no data for custom metric "flaky_gauge" of pods "default\/web-1" \(rules\[6\], query: sum\(flaky_gauge/,
      );
      return true;
    });
  });

  it('does not announce series older than the max age', async () => {
    await assert.rejects(
      byName('stale_metric', 'web-1', 'default'),
      (error: unknown) =>
        error instanceof ApiError && error.reason === 'NotFound' && /not announced/.test(error.message),
    );
  });

  it('carries Prometheus`s error text when the rendered query is invalid', async () => {
    await assert.rejects(
      byName('broken_query', 'team-a', undefined, { group: '', resource: 'namespaces' }),
      (error: unknown) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.reason, 'BadRequest');
        assert.match(
          error.message,
          /prometheus backend rejected the query sum\(namespace_budget\{namespace="team-a"\}\) by \(namespace\) \+: bad_data: .*parse error/,
        );
        return true;
      },
    );
  });

  describe('by label selector', () => {
    it('lists the objects and asks Prometheus once for all of them, leaving out objects without data', async () => {
      const before = withKube.cache.keys.length;
      const samples = await withKube.backend.custom.getMetricBySelector({
        resource: PODS,
        namespace: 'default',
        objectSelector: parseSelector('app=web'),
        metric: 'http_requests_per_second',
        metricSelector: all,
        deadline,
      });
      assert.deepEqual(
        samples?.map((s) => [s.name, s.value]),
        [
          ['web-1', 3],
          ['web-2', 1],
        ],
      );
      assert.deepEqual(withKube.cache.keys.slice(before), [
        'sum(rate(http_requests_total{namespace="default",pod=~"web-1|web-2|web-3"}[5m])) by (pod)',
      ]);
    });

    it('with watched pods and a cache hit, hands out the same frozen answer again until a pod is relabelled', async () => {
      const loaded = loadKubeConfig(kubeDouble.kubeconfigPath);
      assert.ok(loaded);
      const informers = createObjectInformers(loaded.kubeConfig, {
        logger: silentLogger(),
        registry: new Registry(),
        watchResources: ['pods'],
      });
      const watched = await startBackend(CLUSTER_RULES, {
        url: prometheus.url,
        queryTime: T,
        kube: informers,
        cache: keepingCache(),
      });
      const ask = () =>
        watched.backend.custom.getMetricBySelector({
          resource: PODS,
          namespace: 'default',
          objectSelector: parseSelector('app=web'),
          metric: 'http_requests_per_second',
          metricSelector: all,
          deadline,
        });
      const synced = () => informers.informer({ group: '', version: 'v1', resource: 'pods' });
      try {
        await ask();
        await waitUntil(() => synced()?.resourceVersion === kubeDouble.watch.resourceVersion);
        const first = await ask();
        assert.equal(await ask(), first, 'the same answer, not a copy');
        assert.ok(Object.isFrozen(first) && first.every((s) => Object.isFrozen(s)));
        assert.deepEqual(
          first.map((s) => [s.name, s.value]),
          [
            ['web-1', 3],
            ['web-2', 1],
          ],
        );
        kubeDouble.watch.put({ ...PODS, version: 'v1', namespace: 'default', name: 'web-2', labels: { app: 'db' } });
        await waitUntil(() => synced()?.resourceVersion === kubeDouble.watch.resourceVersion);
        const relabelled = await ask();
        assert.notEqual(relabelled, first);
        assert.deepEqual(
          relabelled.map((s) => [s.name, s.value]),
          [['web-1', 3]],
        );
      } finally {
        kubeDouble.watch.put({ ...PODS, version: 'v1', namespace: 'default', name: 'web-2', labels: { app: 'web' } });
        await watched.backend.close?.();
        await informers.close();
      }
    });

    it('answered from the informer and the cache, a Pods-by-selector request makes no timer and no AbortController', async () => {
      const loaded = loadKubeConfig(kubeDouble.kubeconfigPath);
      assert.ok(loaded);
      const informers = createObjectInformers(loaded.kubeConfig, {
        logger: silentLogger(),
        registry: new Registry(),
        watchResources: ['pods'],
      });
      const watched = await startBackend(CLUSTER_RULES, {
        url: prometheus.url,
        queryTime: T,
        kube: informers,
        cache: keepingCache(),
      });
      // As the HTTP layer's RequestDeadline: the controller and the timer are made on the first read.
      let signalReads = 0;
      const lazyDeadline = () => ({
        get signal() {
          signalReads++;
          const controller = new AbortController();
          setTimeout(() => controller.abort(), 10_000).unref();
          return controller.signal;
        },
      });
      const ask = () =>
        watched.backend.custom.getMetricBySelector({
          resource: PODS,
          namespace: 'default',
          objectSelector: parseSelector('app=web'),
          metric: 'http_requests_per_second',
          metricSelector: all,
          deadline: lazyDeadline(),
        });
      const synced = () => informers.informer({ group: '', version: 'v1', resource: 'pods' });
      const made = { controllers: 0, timers: 0 };
      const real = { AbortController: globalThis.AbortController, setTimeout: globalThis.setTimeout };
      try {
        await ask();
        await waitUntil(() => synced()?.resourceVersion === kubeDouble.watch.resourceVersion);
        await ask();
        signalReads = 0;
        globalThis.AbortController = class extends real.AbortController {
          constructor() {
            super();
            made.controllers++;
          }
        };
        globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
          made.timers++;
          return real.setTimeout(...args);
        }) as typeof setTimeout;
        const answers = [await ask(), await ask(), await ask()];
        globalThis.AbortController = real.AbortController;
        globalThis.setTimeout = real.setTimeout;
        assert.deepEqual({ ...made, signalReads }, { controllers: 0, timers: 0, signalReads: 0 });
        assert.deepEqual(
          answers.map((samples) => samples.map((s) => s.name)),
          [
            ['web-1', 'web-2'],
            ['web-1', 'web-2'],
            ['web-1', 'web-2'],
          ],
        );
      } finally {
        globalThis.AbortController = real.AbortController;
        globalThis.setTimeout = real.setTimeout;
        await watched.backend.close?.();
        await informers.close();
      }
    });

    it('serves deployments and root-scoped nodes by selector', async () => {
      const deployments = await withKube.backend.custom.getMetricBySelector({
        resource: { group: 'apps', resource: 'deployments' },
        namespace: 'default',
        objectSelector: parseSelector('tier=jobs'),
        metric: 'queue_messages_ready',
        metricSelector: all,
        deadline,
      });
      assert.deepEqual(
        deployments?.map((s) => [s.name, s.value]),
        [['worker', 49]],
      );
      const nodes = await withKube.backend.custom.getMetricBySelector({
        resource: { group: '', resource: 'nodes' },
        objectSelector: all,
        metric: 'node_load1',
        metricSelector: all,
        deadline,
      });
      assert.deepEqual(
        nodes?.map((s) => [s.name, s.value]),
        [['node-a', 1.5]],
      );
    });

    it('answers 503 in standalone mode, where no object listing exists', async () => {
      await assert.rejects(
        standalone.backend.custom.getMetricBySelector({
          resource: PODS,
          namespace: 'default',
          objectSelector: parseSelector('app=web'),
          metric: 'http_requests_per_second',
          metricSelector: all,
          deadline,
        }),
        (error: unknown) =>
          error instanceof ApiError &&
          error.reason === 'BadRequest' &&
          /object listing unavailable \(standalone mode\)/.test(error.message),
      );
    });
  });

  describe('through the Kubernetes API layer', () => {
    it('serves MetricValueList items with quantities and the Status of a missing object', async () => {
      const { app } = buildTestApp({ backends: [withKube.backend] });
      const one = await request(app).get(`${CUSTOM}/namespaces/default/pods/web-1/http_requests_per_second`);
      assert.equal(one.status, 200, one.text);
      assert.equal(one.body.items[0].value, '3');
      assert.deepEqual(one.body.items[0].describedObject, {
        kind: 'Pod',
        namespace: 'default',
        name: 'web-1',
        apiVersion: '/v1',
      });
      const list = await request(app).get(
        `${CUSTOM}/namespaces/default/pods/*/http_requests_per_second?labelSelector=app%3Dweb`,
      );
      assert.deepEqual(
        list.body.items.map((i: { value: string }) => i.value),
        ['3', '1'],
      );
      const ns = await request(app).get(`${CUSTOM}/namespaces/team-a/metrics/namespace_budget`);
      assert.equal(ns.body.items[0].value, '7');
      const missing = await request(app).get(`${CUSTOM}/namespaces/default/pods/web-9/http_requests_per_second`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.kind, 'Status');
      assert.match(
        missing.body.message,
        /prometheus has no data for custom metric "http_requests_per_second" of pods "default\/web-9"/,
      );
    });
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
