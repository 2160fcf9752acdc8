import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Express } from 'express';
import request from 'supertest';
import type { RunningBackends } from '../../src/startup/backends.js';
import { gauge, type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';
import { startWiredApp } from '../support/wired-app.js';

/**
 * The cache in front of a real Prometheus that goes away and comes back, wired as main.ts wires
 * it (startBackends with the config's cache section, the app on the same registry), on the real
 * clock: ttl 1 s, maxStale 3 s, so a value may be served until 4 s after its load.
 */
const TTL_MS = 1000;
const MAX_STALE_MS = 3000;
const CONFIG = `
externalRules:
- seriesQuery: '{__name__="broker_queue_depth",queue!=""}'
  name: {as: queue_depth}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
cache:
  prometheus: { ttl: ${TTL_MS}ms, maxStale: ${MAX_STALE_MS}ms, refreshAheadRatio: 0 }
`;
const PATH = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3Djobs';

interface Item {
  value: string;
  timestamp: string;
}

describe('the metric cache while Prometheus is down', () => {
  let prometheus: PrometheusServer;
  let backends: RunningBackends;
  let app: Express;

  before(async () => {
    const now = Math.floor(Date.now() / 1000);
    prometheus = await startPrometheus({
      series: [
        gauge('broker_queue_depth', { namespace: 'default', queue: 'jobs' }, 42, { end: now + 900, seconds: 2700 }),
      ],
    });
    ({ app, backends } = await startWiredApp(CONFIG, [
      `--prometheus-url=${prometheus.url}`,
      '--metrics-relist-interval=10m',
    ]));
  });

  after(async () => {
    await backends?.close();
    await prometheus?.stop();
  });

  async function item(): Promise<Item> {
    const res = await request(app).get(PATH);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.items.length, 1);
    return res.body.items[0];
  }

  async function counter(name: string, labels: Record<string, string>): Promise<number> {
    const text = (await request(app).get('/metrics')).text;
    const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((pair) => l.includes(pair)));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  const stale = () => counter('hpa_metrics_adapter_cache_requests_total', { backend: 'prometheus', result: 'stale' });
  const failedLoads = () =>
    counter('hpa_metrics_adapter_cache_backend_loads_total', { backend: 'prometheus', outcome: 'error' });

  it('answers from the cache within maxStale, then 503 naming the backend and its error, then recovers', async () => {
    const fresh = await item();
    const loadedBy = Date.now();
    assert.equal(fresh.value, '42');
    assert.equal(await stale(), 0);

    await prometheus.pause();
    const sinceLoad = () => Date.now() - loadedBy;
    await sleep(TTL_MS + 300 - sinceLoad());
    const early = await item();
    assert.deepEqual(early, fresh, 'past the TTL, the last value is served with its own datapoint timestamp');
    assert.ok((await failedLoads()) >= 1, 'the refresh went to Prometheus and failed');
    const staleServed = await stale();
    assert.ok(staleServed >= 1);

    await sleep(TTL_MS + MAX_STALE_MS - 1400 - sinceLoad());
    assert.ok(sinceLoad() < TTL_MS + MAX_STALE_MS, 'still inside maxStale');
    assert.deepEqual(await item(), fresh);
    assert.ok((await stale()) > staleServed, 'each stale answer is counted');

    await sleep(TTL_MS + MAX_STALE_MS + 300 - sinceLoad());
    const down = await request(app).get(PATH);
    assert.equal(down.status, 503, down.text);
    assert.equal(down.body.kind, 'Status');
    assert.equal(down.body.reason, 'ServiceUnavailable');
    assert.match(down.body.message, /^prometheus backend unavailable and no value younger than 4s is cached: /);
    assert.match(
      down.body.message,
      new RegExp(`prometheus backend at ${prometheus.url} is unreachable: .*ECONNREFUSED`),
    );

    await prometheus.restart();
    const recovered = await item();
    assert.equal(recovered.value, '42');
    assert.ok(
      Date.parse(recovered.timestamp) > Date.parse(fresh.timestamp),
      `a fresh datapoint (${recovered.timestamp}) after ${fresh.timestamp}`,
    );
  });
});
