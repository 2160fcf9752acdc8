import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adapterRequest, sampleOf } from '../support/adapter-client.js';
import { startAdapterOnPrometheus } from '../support/adapter-on-prometheus.js';
import { startMisbehavingPrometheus } from '../support/misbehaving-prometheus.js';
import { startedForFile } from '../support/started-for-file.js';

/**
 * Failure policies for Prometheus metrics, in the adapter process: the same series served as
 * three metrics with three policies, while Prometheus answers malformed samples (a backend
 * failure), no series at all, and good values again.
 */

const TTL_MS = 500;

const CONFIG = `
prometheus:
  externalRules:
  - seriesQuery: '{__name__="queue_depth",queue!=""}'
    name: {as: queue_depth}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
  - seriesQuery: '{__name__="queue_depth",queue!=""}'
    name: {as: queue_depth_fixed}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue) + 0
  - seriesQuery: '{__name__="queue_depth",queue!=""}'
    name: {as: queue_depth_fail}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue) * 1
  failurePolicies:
    queue_depth_fixed: { onError: 7, noData: zero }
    queue_depth_fail: { onError: fail }
cache:
  prometheus: { ttl: ${TTL_MS}ms, maxStale: 1m, negativeTtl: 0s, refreshAheadRatio: 0 }
`;

const path = (metric: string) =>
  `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/${metric}?labelSelector=queue%3Djobs`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const prometheus = startedForFile(startMisbehavingPrometheus);
const served = startedForFile(() => startAdapterOnPrometheus({ config: CONFIG, prometheusUrl: prometheus.url }));

async function read(metric: string): Promise<{ status: number; value?: string; text: string }> {
  const answer = await adapterRequest(served.adapter.port, path(metric));
  return { status: answer.status, value: answer.body?.items?.[0]?.value, text: answer.text };
}

async function fallbacks(metric: string, reason: string): Promise<number> {
  const text = (await adapterRequest(served.adapter.port, '/metrics')).text;
  return sampleOf(text, 'hpa_metrics_adapter_fallbacks_total', { backend: 'prometheus', metric, reason }) ?? 0;
}

test('each metric answers a Prometheus failure, no data, and recovery as its policy says', async () => {
  prometheus.answer = { kind: 'value', value: '42' };
  for (const metric of ['queue_depth', 'queue_depth_fixed', 'queue_depth_fail']) {
    assert.equal((await read(metric)).value, '42', metric);
  }

  // Down: every sample malformed, which the Prometheus backend reports as a backend failure.
  prometheus.answer = { kind: 'raw-point', point: '[1700000000,"not a number"]' };
  await sleep(TTL_MS + 100);
  assert.equal((await read('queue_depth')).value, '42', 'lastGood (the default): the cached value');
  assert.equal((await read('queue_depth_fixed')).value, '7', 'onError: 7');
  const failed = await read('queue_depth_fail');
  assert.equal(failed.status, 503, failed.text);
  assert.equal(await fallbacks('queue_depth', 'last_good'), 1);
  assert.equal(await fallbacks('queue_depth_fixed', 'error_value'), 1);
  assert.equal(await fallbacks('queue_depth_fail', 'last_good'), 0);

  // No data: an empty vector.
  prometheus.answer = { kind: 'empty' };
  await sleep(5_100); // past the cache's pause before it retries a failed key
  // The last good value still answers while the retry runs in the background; then no data is 404.
  assert.equal((await read('queue_depth')).value, '42');
  await sleep(300);
  assert.equal((await read('queue_depth')).status, 404);
  assert.equal((await read('queue_depth_fixed')).value, '0', 'noData: zero');
  assert.equal(await fallbacks('queue_depth_fixed', 'no_data_value'), 1);

  // Recovered.
  prometheus.answer = { kind: 'value', value: '11' };
  await sleep(TTL_MS + 100);
  for (const metric of ['queue_depth', 'queue_depth_fixed', 'queue_depth_fail']) {
    assert.equal((await read(metric)).value, '11', metric);
  }
  const transitions = served.adapter.logs.filter(
    (l) => l.metric === 'queue_depth_fixed' && /fallback value|answered by its backend again/.test(String(l.msg)),
  );
  assert.deepEqual(
    transitions.map((l) => l.reason ?? 'recovered'),
    ['error_value', 'no_data_value', 'recovered'],
    'one log line per transition',
  );
});
