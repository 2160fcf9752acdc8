import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { adapterMetric, adapterRequest, eventually } from '../support/adapter-client.js';
import { type AdapterOnPrometheus, startAdapterOnPrometheus } from '../support/adapter-on-prometheus.js';
import type { AdapterProcess } from '../support/adapter-process.js';
import { gauge, type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';
import { type RoundRobinProxy, startRoundRobinProxy } from '../support/round-robin-proxy.js';

/**
 * Prometheus misbehaving, seen by the HPA: the real adapter process reads a real Prometheus
 * through a proxy on loopback that makes it slow or takes it away.
 */

const TIMEOUT_MS = 1000;
/** How late the slow Prometheus answers: far past the timeout, within the request's own 10 s deadline. */
const SLOW_BY_MS = 8000;
const TTL_MS = 1000;

const CONFIG = `
prometheus:
  timeout: ${TIMEOUT_MS}ms
  externalRules:
  - seriesQuery: '{__name__="broker_queue_depth",queue!=""}'
    name: {as: queue_depth}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
cache:
  prometheus: { ttl: ${TTL_MS}ms, maxStale: 2m }
`;

const queueDepth = (queue: string) =>
  `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3D${queue}`;

let prometheus: PrometheusServer;
let proxy: RoundRobinProxy;
let adapter: AdapterProcess;
let served: AdapterOnPrometheus;

before(async () => {
  const now = Math.floor(Date.now() / 1000);
  prometheus = await startPrometheus({
    series: [
      gauge('broker_queue_depth', { namespace: 'default', queue: 'jobs' }, 1500, { end: now + 900, seconds: 2700 }),
    ],
  });
  proxy = await startRoundRobinProxy({ backends: [prometheus.port] });
  served = await startAdapterOnPrometheus({
    config: CONFIG,
    prometheusUrl: proxy.url,
    args: ['--metrics-max-age=1h'],
  });
  adapter = served.adapter;
});

afterEach(async () => {
  proxy.responseDelayMs = 0;
  await proxy.setDown(false);
});

after(async () => {
  await served?.close();
  await proxy?.close();
  await prometheus?.stop();
});

describe('Prometheus slower than the backend timeout', () => {
  it('answers 503 within the timeout and lets go of every connection it opened', async (t) => {
    const distinct = 10;
    const perQuery = 4;
    const baseline = proxy.openConnections();
    proxy.responseDelayMs = SLOW_BY_MS;

    for (const burst of [1, 2]) {
      proxy.resetPeak();
      const routedBefore = proxy.backends[0]?.routed ?? 0;
      const answers = await Promise.all(
        Array.from({ length: distinct * perQuery }, (_, i) =>
          adapterRequest(adapter.port, queueDepth(`slow-${burst}-${i % distinct}`)),
        ),
      );
      for (const answer of answers) {
        assert.equal(answer.status, 503, answer.text);
        assert.equal(answer.body.kind, 'Status');
        assert.equal(answer.body.reason, 'ServiceUnavailable');
        assert.match(
          answer.body.message,
          new RegExp(`prometheus backend at .* did not answer within ${TIMEOUT_MS} ms`),
        );
        // The message above says the timeout fired; a hang-only bound says the answer did not wait for Prometheus.
        assert.ok(answer.ms < SLOW_BY_MS, `answered after ${Math.round(answer.ms)} ms`);
      }
      const opened = (proxy.backends[0]?.routed ?? 0) - routedBefore;
      const peak = proxy.peakOpenConnections();
      // One backend call per distinct query however many HPAs ask (single flight), and each
      // abandoned call closes its socket: nothing accumulates from one burst to the next.
      assert.ok(opened <= distinct, `burst ${burst}: ${opened} new connections to Prometheus for ${distinct} queries`);
      assert.ok(peak <= baseline + distinct, `burst ${burst}: ${peak} connections open at once`);
      const settled = await eventually('connections to the slow Prometheus closed', async () =>
        proxy.openConnections() <= baseline ? proxy.openConnections() : undefined,
      );
      t.diagnostic(
        `burst ${burst}: ${answers.length} requests, 503 in ${Math.round(Math.min(...answers.map((a) => a.ms)))}–` +
          `${Math.round(Math.max(...answers.map((a) => a.ms)))} ms; ${opened} connections opened, peak ${peak} open, ` +
          `${settled} open after (baseline ${baseline})`,
      );
    }
  });
});

describe('Prometheus down, then back', () => {
  it('serves the last value with its old timestamp while Prometheus is down, then fresh values again', async () => {
    const first = await adapterRequest(adapter.port, queueDepth('jobs'));
    assert.equal(first.status, 200, first.text);
    const [item] = first.body.items;
    assert.equal(item.value, '1500');
    const staleBefore =
      (await adapterMetric(adapter.port, 'hpa_metrics_adapter_cache_requests_total', {
        backend: 'prometheus',
        result: 'stale',
      })) ?? 0;

    await proxy.setDown(true);
    await new Promise((r) => setTimeout(r, TTL_MS + 200));
    for (let i = 0; i < 3; i++) {
      const stale = await adapterRequest(adapter.port, queueDepth('jobs'));
      assert.equal(stale.status, 200, stale.text);
      assert.deepEqual(stale.body.items, [item], 'the same value, with the timestamp of when it was read');
      assert.ok(stale.ms < TIMEOUT_MS, `stale answer after ${stale.ms} ms: it must not wait for the backend`);
    }
    assert.ok(Date.parse(item.timestamp) < Date.now() - TTL_MS, 'the timestamp shows the value is old');
    const staleAfter = await adapterMetric(adapter.port, 'hpa_metrics_adapter_cache_requests_total', {
      backend: 'prometheus',
      result: 'stale',
    });
    assert.ok((staleAfter ?? 0) >= staleBefore + 3, 'stale serves are counted for alerting');

    await proxy.setDown(false);
    const fresh = await eventually(
      'a fresh value after Prometheus came back',
      async () => {
        const answer = await adapterRequest(adapter.port, queueDepth('jobs'));
        assert.equal(answer.status, 200, answer.text);
        return answer.body.items[0].timestamp !== item.timestamp ? answer.body.items[0] : undefined;
      },
      5000,
      200,
    );
    assert.equal(fresh.value, '1500');
    assert.ok(Date.parse(fresh.timestamp) > Date.parse(item.timestamp));
  });
});
