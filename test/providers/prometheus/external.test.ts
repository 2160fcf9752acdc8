import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import request from 'supertest';
import { ApiError } from '../../../src/api/errors.js';
import { parseSelector } from '../../../src/api/selector.js';
import { createQueryCache } from '../../../src/cache/lru-query-cache.js';
import { parseConfig } from '../../../src/config/load.js';
import { deadlineOf } from '../../../src/lib/deadline.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createPrometheusBackend, type PrometheusBackend } from '../../../src/providers/prometheus/backend.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import type { ExternalSample } from '../../../src/providers/provider.js';
import { buildTestApp } from '../../support/app.js';
import { testBackendContext } from '../../support/backend-context.js';
import { alignedQueryTime, type PrometheusServer, startPrometheus } from '../../support/prometheus-server.js';
import { CLUSTER_RULES, clusterSeries } from './fixtures.js';
import { type BackendUnderTest, startBackend } from './helpers.js';

const T = alignedQueryTime();
const deadline = deadlineOf(new AbortController().signal);

function values(samples: readonly ExternalSample[] | undefined): string[] {
  return (samples ?? []).map((s) => `${JSON.stringify(s.labels)}=${s.value}`).sort();
}

/** A TCP forwarder in front of Prometheus that a test can cut, to play "Prometheus went away". */
async function startCuttableProxy(target: number): Promise<{ url: string; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    async cut() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('Prometheus external metrics and failures against a real Prometheus', () => {
  let prometheus: PrometheusServer;
  let subject: BackendUnderTest;

  before(async () => {
    prometheus = await startPrometheus({ series: clusterSeries(T) });
    subject = await startBackend(CLUSTER_RULES, { url: prometheus.url, queryTime: T });
  });
  after(async () => {
    await subject?.backend.close?.();
    await prometheus?.stop();
  });

  const external = (metric: string, namespace: string, selector = '') =>
    subject.backend.external.getExternalMetric({
      namespace,
      metric,
      metricSelector: parseSelector(selector),
      deadline,
    });

  it('announces the external metrics the externalRules name', () => {
    assert.deepEqual(
      subject.backend.external
        ?.listExternalMetrics()
        .map((m) => m.metric)
        .sort(),
      ['kafka_consumer_lag', 'queue_depth'],
    );
  });

  it('injects the request namespace and turns the selector into matchers', async () => {
    assert.deepEqual(values(await external('queue_depth', 'team-a', 'env=prod')), [
      '{"queue":"emails"}=7',
      '{"queue":"jobs"}=42',
    ]);
    assert.equal(subject.cache.keys.at(-1), 'sum(queue_depth{env="prod",namespace="team-a"}) by (queue)');
    assert.deepEqual(values(await external('queue_depth', 'team-b', 'env=prod')), ['{"queue":"jobs"}=1000']);
  });

  it('renders by the request values, not by which selector object the request carries', async () => {
    const selector = parseSelector('env=prod');
    const ask = (namespace: string, metricSelector = selector) =>
      subject.backend.external.getExternalMetric({ namespace, metric: 'queue_depth', metricSelector, deadline });
    await ask('team-a');
    await ask('team-b');
    await ask('team-a', parseSelector('env = prod'));
    assert.deepEqual(subject.cache.keys.slice(-3), [
      'sum(queue_depth{env="prod",namespace="team-a"}) by (queue)',
      'sum(queue_depth{env="prod",namespace="team-b"}) by (queue)',
      'sum(queue_depth{env="prod",namespace="team-a"}) by (queue)',
    ]);
  });

  it('handles in, notin, != and (does not) exist as prometheus-adapter does', async () => {
    assert.deepEqual(values(await external('queue_depth', 'team-a', 'queue in (jobs),env!=dev')), [
      '{"queue":"jobs"}=42',
    ]);
    assert.deepEqual(values(await external('queue_depth', 'team-a', 'env notin (dev)')), [
      '{"queue":"emails"}=7',
      '{"queue":"jobs"}=42',
      '{"queue":"legacy"}=3',
    ]);
    assert.deepEqual(
      values(await external('queue_depth', 'team-a', 'queue notin (jobs,emails)')),
      ['{"queue":"legacy"}=3'],
      'notin with several values leaves out every one of them',
    );
    assert.deepEqual(values(await external('queue_depth', 'team-a', '!env')), ['{"queue":"legacy"}=3']);
    assert.deepEqual(values(await external('queue_depth', 'team-a', 'env')), [
      '{"queue":"emails"}=7',
      '{"queue":"jobs"}=142',
    ]);
  });

  it('leaves the namespace out for resources.namespaced: false', async () => {
    assert.deepEqual(values(await external('kafka_consumer_lag', 'default', 'topic=orders')), [
      '{"topic":"orders"}=300',
    ]);
    assert.equal(subject.cache.keys.at(-1), 'sum(kafka_consumergroup_lag{topic="orders"}) by (topic)');
  });

  it('answers an empty list when nothing matches, which the API layer turns into a 404 Status', async () => {
    assert.deepEqual(await external('queue_depth', 'nobody'), []);
    const { app } = buildTestApp({ backends: [subject.backend] });
    const res = await request(app).get(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/team-a/queue_depth?labelSelector=queue%3Djobs',
    );
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      res.body.items.map((i: { value: string; metricLabels: object }) => [i.metricLabels, i.value]),
      [[{ queue: 'jobs' }, '142']],
    );
    const none = await request(app).get('/apis/external.metrics.k8s.io/v1beta1/namespaces/nobody/queue_depth');
    assert.equal(none.status, 404);
  });

  it('refuses > and < selectors with a BadRequest', async () => {
    await assert.rejects(
      external('queue_depth', 'team-a', 'size>3'),
      (error: unknown) => error instanceof ApiError && error.reason === 'BadRequest',
    );
  });

  it('shares one Prometheus query between identical requests through the real cache', async () => {
    const registry = new Registry();
    const settings = resolvePrometheusSettings(parseConfig(CLUSTER_RULES, 't').prometheus, {
      prometheusUrl: prometheus.url,
    });
    assert.ok(settings);
    const cache = createQueryCache(
      'prometheus',
      { ttlMs: 15_000, maxStaleMs: 60_000, negativeTtlMs: 5_000, maxEntries: 100, maxBytes: 1 << 20 },
      { registry },
    );
    const backend = await createPrometheusBackend(
      settings,
      testBackendContext({ registry, cache, now: () => new Date(T * 1000) }),
    );
    await backend.start?.();
    const ask = () =>
      backend.external.getExternalMetric({
        namespace: 'team-a',
        metric: 'queue_depth',
        metricSelector: parseSelector('env=prod'),
        deadline,
      });
    await Promise.all([ask(), ask(), ask()]);
    await ask();
    const calls = (await registry.getSingleMetric('hpa_metrics_adapter_prometheus_calls_total')?.get())?.values;
    assert.equal(calls?.find((v) => v.labels.endpoint === 'query')?.value, 1);
    await backend.close?.();
    cache.close();
  });

  describe('when Prometheus goes away', () => {
    let backend: PrometheusBackend;
    let proxy: Awaited<ReturnType<typeof startCuttableProxy>>;
    const logs: Record<string, unknown>[] = [];

    before(async () => {
      proxy = await startCuttableProxy(prometheus.port);
      const settings = resolvePrometheusSettings(parseConfig(CLUSTER_RULES, 't').prometheus, {
        prometheusUrl: proxy.url,
      });
      assert.ok(settings);
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean))
            logs.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      backend = await createPrometheusBackend(
        settings,
        testBackendContext({ logger: createLogger('debug', sink), now: () => new Date(T * 1000) }),
      );
      await backend.start?.();
      assert.equal(
        (
          await backend.external.getExternalMetric({
            namespace: 'team-b',
            metric: 'queue_depth',
            metricSelector: parseSelector(''),
            deadline,
          })
        )?.length,
        1,
      );
      const flaky = { resource: { group: '', resource: 'pods' }, namespace: 'default', name: 'web-1' };
      await assert.rejects(
        backend.custom.getMetricByName({
          object: flaky,
          metric: 'flaky_gauge',
          metricSelector: parseSelector(''),
          deadline,
        }),
      );
      await proxy.cut();
      // Let the client see its pooled connections close, as it would long before the next HPA sync.
      await new Promise((r) => setTimeout(r, 50));
    });
    after(async () => {
      await backend?.close?.();
    });

    it('answers 503 naming the backend and its URL', async () => {
      await assert.rejects(
        backend.custom.getMetricByName({
          object: { resource: { group: '', resource: 'nodes' }, name: 'node-a' },
          metric: 'node_load1',
          metricSelector: parseSelector(''),
          deadline,
        }),
        (error: unknown) => {
          assert.ok(error instanceof ApiError);
          assert.equal(error.reason, 'ServiceUnavailable');
          assert.match(
            error.message,
            new RegExp(`^prometheus backend at ${proxy.url} is unreachable: connect ECONNREFUSED`),
          );
          return true;
        },
      );
    });

    it('keeps the last good metric list when a relist fails, and says so at warn', async () => {
      const before = backend.custom.listCustomMetrics().length ?? 0;
      assert.ok(before > 0);
      await backend.relist();
      assert.equal(backend.custom.listCustomMetrics().length, before);
      assert.equal(backend.external.listExternalMetrics().length, 2);
      const warnings = logs.filter((l) => l.level === 'warn' && String(l.msg).includes('keeping the last good series'));
      assert.equal(warnings.length, 10, 'one warning per distinct seriesQuery');
      assert.match(String(warnings[0]?.err), /unreachable/);
    });

    it('logged every query it ran at debug, with the PromQL, and the NaN it dropped', () => {
      const queries = logs.filter((l) => l.msg === 'prometheus query');
      assert.deepEqual(
        queries.map((l) => l.promql),
        [
          'sum(queue_depth{namespace="team-b"}) by (queue)',
          'sum(flaky_gauge{namespace="default",pod="web-1"}) by (pod)',
        ],
      );
      const dropped = logs.find((l) => String(l.msg).startsWith('prometheus returned NaN'));
      assert.deepEqual(dropped?.dropped, [{ labels: { pod: 'web-1' }, value: 'NaN' }]);
    });
  });
});
