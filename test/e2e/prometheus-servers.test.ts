import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adapterMetric, eventually } from '../support/adapter-client.js';
import type { AdapterProcess } from '../support/adapter-process.js';
import { type ClusterHarness, startClusterHarness } from '../support/cluster-harness.js';
import { counter, expectedRate, gauge, type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';
import { type RecordingProxy, startRecordingProxy } from '../support/recording-proxy.js';

/**
 * Two real Prometheus servers with different data behind one adapter (`prometheus.servers`), one
 * rule set split across them, each server behind a recording proxy that shows which
 * X-Scope-OrgID each request carried; the adapter runs as in a cluster (aggregator
 * authentication, the real kubectl). Then one server goes away: only its own rules notice.
 */

const STALE_MS = 500;

let apps: PrometheusServer;
let queues: PrometheusServer;
let appsProxy: RecordingProxy;
let queuesProxy: RecordingProxy;
let cluster: ClusterHarness;
let adapter: AdapterProcess;

const external = (metric: string, selector: string) =>
  `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/${metric}?labelSelector=${encodeURIComponent(selector)}`;
const podMetric = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-1/http_requests_per_second';

const config = () => `
prometheus:
  maxAge: 1h
  servers:
  - name: apps
    url: ${appsProxy.url}
    tenant: team-apps
  - name: queues
    url: ${queuesProxy.url}
    tenant: team-queues
    cache: { ttl: ${STALE_MS}ms, maxStale: ${STALE_MS}ms }
  rules:
  - seriesQuery: '{__name__="http_requests_total",namespace!="",pod!=""}'
    resources: { overrides: { namespace: { resource: namespace }, pod: { resource: pod } } }
    name: { matches: '^(.*)_total$', as: '\${1}_per_second' }
    metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
  externalRules:
  # The same seriesQuery on both servers: each rule reads its own server's series and values.
  - seriesQuery: '{__name__="jobs_waiting",queue!=""}'
    name: { as: apps_jobs_waiting }
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
  - seriesQuery: '{__name__="jobs_waiting",queue!=""}'
    server: queues
    name: { as: queues_jobs_waiting }
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
  - seriesQuery: '{__name__="broker_queue_depth",queue!=""}'
    server: queues
    tenant: team-brokers
    name: { as: queue_depth }
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`;

before(async () => {
  const now = Math.floor(Date.now() / 1000);
  const range = { end: now + 900, seconds: 2700 };
  apps = await startPrometheus({
    series: [
      counter('http_requests_total', { namespace: 'default', pod: 'web-1' }, 7, range),
      gauge('jobs_waiting', { namespace: 'default', queue: 'reports' }, 10, range),
    ],
  });
  queues = await startPrometheus({
    series: [
      gauge('jobs_waiting', { namespace: 'default', queue: 'reports' }, 20, range),
      gauge('broker_queue_depth', { namespace: 'default', queue: 'jobs' }, 1500, range),
    ],
  });
  appsProxy = await startRecordingProxy(apps.url);
  queuesProxy = await startRecordingProxy(queues.url);
  cluster = await startClusterHarness({ config: config(), extraArgs: ['--metrics-relist-interval=1s'] });
  cluster.kube.tokens.set('oncall-token', { username: 'oncall', groups: [] });
  cluster.kube.allowRules.push({ user: 'oncall', group: 'external.metrics.k8s.io' });
  adapter = cluster.adapter;
});

after(async () => {
  await cluster?.close();
  await appsProxy?.close();
  await queuesProxy?.close();
  await apps?.stop();
  await queues?.stop();
});

async function value(path: string): Promise<string> {
  const answer = await cluster.asAggregator(path);
  assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
  return answer.body.items[0]?.value;
}

async function announcedExternal(): Promise<string[]> {
  const answer = await cluster.asAggregator('/apis/external.metrics.k8s.io/v1beta1');
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.resources
    .map((r: { name: string }) => r.name)
    .filter((name: string) => name !== 'discovery-placeholder')
    .sort();
}

describe('several Prometheus servers', () => {
  it('announces each rule from its own server, and answers each from its own server', async () => {
    assert.deepEqual(await announcedExternal(), ['apps_jobs_waiting', 'queue_depth', 'queues_jobs_waiting']);
    assert.equal(await value(external('apps_jobs_waiting', 'queue=reports')), '10');
    assert.equal(await value(external('queues_jobs_waiting', 'queue=reports')), '20');
    assert.equal(await value(external('queue_depth', 'queue=jobs')), '1500');
    const perPod = await cluster.asAggregator(podMetric);
    assert.equal(perPod.status, 200, JSON.stringify(perPod.body));
    // 7.000000000000001 (see expectedRate) as a Kubernetes quantity.
    assert.equal(Number(perPod.body.items[0].value), Math.round(expectedRate(7, 300) * 1000) / 1000);
  });

  it("shows each server's value to kubectl get --raw", async (t) => {
    const raw = await cluster.kubectl(
      ['get', '--raw', external('queues_jobs_waiting', 'queue=reports')],
      'oncall-token',
    );
    if (!raw)
      return t.skip('kubectl is not installed on this machine: the kubectl view of several servers is not checked');
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(JSON.parse(raw.stdout).items[0].value, '20');
    const other = await cluster.kubectl(
      ['get', '--raw', external('apps_jobs_waiting', 'queue=reports')],
      'oncall-token',
    );
    assert.equal(JSON.parse(other?.stdout ?? '{}').items?.[0]?.value, '10', other?.stderr);
  });

  it('sends each server its tenant as X-Scope-OrgID, and a rule its own tenant', () => {
    const tenants = (proxy: RecordingProxy, names: string) =>
      new Set(
        proxy.requests
          .filter((r) => (r.params.get('query') ?? r.params.get('match[]') ?? '').includes(names))
          .map((r) => r.headers['x-scope-orgid']),
      );
    assert.ok(appsProxy.requests.length > 0 && queuesProxy.requests.length > 0, 'both servers were asked');
    assert.deepEqual(new Set(appsProxy.requests.map((r) => r.headers['x-scope-orgid'])), new Set(['team-apps']));
    assert.deepEqual(tenants(queuesProxy, 'jobs_waiting'), new Set(['team-queues']));
    assert.deepEqual(tenants(queuesProxy, 'broker_queue_depth'), new Set(['team-brokers']));
    for (const proxy of [appsProxy, queuesProxy]) {
      const endpoints = new Set(proxy.requests.map((r) => r.url.split('?')[0]));
      assert.deepEqual(
        endpoints,
        new Set(['/api/v1/series', '/api/v1/query']),
        'discovery and queries both went there',
      );
    }
    assert.ok(
      !appsProxy.requests.some((r) => (r.params.get('query') ?? '').includes('broker_queue_depth')),
      'no rule of the queues server asked the apps server',
    );
  });

  it('names the server in its metrics: calls, relists, caches', async () => {
    for (const server of ['apps', 'queues']) {
      const calls = await adapterMetric(adapter.port, 'hpa_metrics_adapter_prometheus_calls_total', {
        server,
        endpoint: 'series',
        outcome: 'success',
      });
      assert.ok((calls ?? 0) > 0, `series calls to ${server}: ${calls}`);
      const announced = await adapterMetric(adapter.port, 'hpa_metrics_adapter_prometheus_announced_metrics', {
        server,
        api: 'external',
      });
      assert.equal(announced, server === 'apps' ? 1 : 2);
    }
    const queuesCache = await adapterMetric(adapter.port, 'hpa_metrics_adapter_cache_requests_total', {
      backend: 'prometheus:queues',
      result: 'miss',
    });
    assert.ok((queuesCache ?? 0) > 0, 'the queues server has a cache of its own');
  });

  describe('when one server is down', () => {
    before(async () => {
      await queues.pause();
    });

    it('the other keeps answering and discovering; the stopped one answers 503 and keeps its last good list', async () => {
      const failures = await eventually(
        'a failed relist of the queues server',
        async () => {
          const n = await adapterMetric(adapter.port, 'hpa_metrics_adapter_prometheus_relists_total', {
            server: 'queues',
            outcome: 'failure',
          });
          return n !== undefined && n > 0 ? n : undefined;
        },
        15_000,
      );
      assert.ok(failures > 0);
      const appsRelists = async () =>
        (await adapterMetric(adapter.port, 'hpa_metrics_adapter_prometheus_relists_total', {
          server: 'apps',
          outcome: 'success',
        })) ?? 0;
      const before = await appsRelists();
      await eventually('another successful relist of the apps server', async () =>
        (await appsRelists()) > before ? true : undefined,
      );
      assert.equal(
        await adapterMetric(adapter.port, 'hpa_metrics_adapter_prometheus_relists_total', {
          server: 'apps',
          outcome: 'failure',
        }),
        undefined,
        'the apps server never failed a relist',
      );

      assert.deepEqual(
        await announcedExternal(),
        ['apps_jobs_waiting', 'queue_depth', 'queues_jobs_waiting'],
        "discovery keeps the stopped server's last good list",
      );
      const kept = adapter.logs.find(
        (l) => l.server === 'queues' && l.msg === 'series discovery failed: keeping the last good series of this query',
      );
      assert.ok(kept, 'the log line names the server');

      assert.equal(await value(external('apps_jobs_waiting', 'queue=reports')), '10');
      const perPod = await cluster.asAggregator(podMetric);
      assert.equal(perPod.status, 200, JSON.stringify(perPod.body));

      const down = await eventually(
        'a 503 from the stopped server once its stale bound has passed',
        async () => {
          const answer = await cluster.asAggregator(external('queues_jobs_waiting', 'queue=reports'));
          return answer.status === 503 ? answer : undefined;
        },
        10_000,
      );
      assert.equal(down.body.kind, 'Status');
      assert.equal(down.body.reason, 'ServiceUnavailable');
      assert.match(down.body.message, /^prometheus:queues backend unavailable/, 'the message names the server');

      for (const probe of ['/readyz', '/livez', '/healthz']) {
        const answer = await cluster.call(probe);
        assert.equal(answer.status, 200, `${probe} must not depend on a backend: ${JSON.stringify(answer.body)}`);
      }
    });

    it('kubectl get --raw: the other server still answers, the stopped one is ServiceUnavailable', async (t) => {
      const up = await cluster.kubectl(
        ['get', '--raw', external('apps_jobs_waiting', 'queue=reports')],
        'oncall-token',
      );
      if (!up) return t.skip('kubectl is not installed on this machine: the kubectl view of an outage is not checked');
      assert.equal(up.code, 0, up.stderr);
      assert.equal(JSON.parse(up.stdout).items[0].value, '10');
      const down = await cluster.kubectl(['get', '--raw', external('queue_depth', 'queue=jobs')], 'oncall-token');
      assert.notEqual(down?.code, 0);
      assert.match(down?.stderr ?? '', /ServiceUnavailable|503|prometheus:queues backend unavailable/);
    });

    it('answers from the server again once it is back', async () => {
      await queues.restart();
      const back = await eventually(
        'queues_jobs_waiting answered again',
        async () => {
          const answer = await cluster.asAggregator(external('queues_jobs_waiting', 'queue=reports'));
          return answer.status === 200 ? answer : undefined;
        },
        20_000,
        250,
      );
      assert.equal(back.body.items[0].value, '20');
    });
  });
});
