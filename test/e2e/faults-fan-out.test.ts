import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { describe, it } from 'node:test';
import { type AdapterAnswer, adapterMetric, adapterRequest, eventually } from '../support/adapter-client.js';
import { startAdapterOnPrometheus } from '../support/adapter-on-prometheus.js';
import { startMisbehavingPrometheus } from '../support/misbehaving-prometheus.js';
import { startedForFile } from '../support/started-for-file.js';

/**
 * A flood of distinct keys (every one a cache miss) against a Prometheus that holds its queries:
 * the adapter runs at most maxConcurrentLoads queries, queues maxQueuedLoads, and answers the rest
 * 429 with Retry-After at once (a Status, counted); a cached metric is answered throughout. The
 * queries are held until the test has seen all of that, not for a fixed time: with 1.5 s of delay
 * and a 300 ms pause, a loaded machine could start the cached read late or answer it slowly.
 */

const MAX_CONCURRENT = 4;
const MAX_QUEUED = 8;
const FLOOD = 100;

const CONFIG = `
prometheus:
  externalRules:
  - seriesQuery: '{__name__="queue_depth",queue!=""}'
    name: {as: queue_depth}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
cache:
  prometheus: { ttl: 5m, maxConcurrentLoads: ${MAX_CONCURRENT}, maxQueuedLoads: ${MAX_QUEUED} }
`;
const path = (queue: string) =>
  `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3D${queue}`;

const prometheus = startedForFile(startMisbehavingPrometheus);
const served = startedForFile(() => startAdapterOnPrometheus({ config: CONFIG, prometheusUrl: prometheus.url }));

describe('a flood of distinct metric keys against a slow Prometheus', () => {
  it('runs at most maxConcurrentLoads queries, answers the overflow 429 with Retry-After, and serves cached keys', async (t) => {
    // The cached key is read again over the connection of its first read: no TLS handshake among
    // the flood's hundred.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    const readCached = () => adapterRequest(served.adapter.port, path('cached'), { agent: keepAlive });
    assert.equal((await readCached()).status, 200);
    const release = prometheus.hold();
    const queriesBefore = prometheus.stats.queries;
    let refusedSoFar = 0;
    const flood = Array.from({ length: FLOOD }, (_, i) =>
      adapterRequest(served.adapter.port, path(`unique-${i}`), { timeoutMs: 60_000 }).then((answer) => {
        if (answer.status === 429) refusedSoFar++;
        return answer;
      }),
    );
    let cached: AdapterAnswer;
    let answeredBeforeCached: number;
    try {
      await eventually(
        'every slot taken and every key past the queue refused',
        async () =>
          prometheus.stats.peakConcurrentQueries >= MAX_CONCURRENT &&
          refusedSoFar >= FLOOD - MAX_CONCURRENT - MAX_QUEUED
            ? true
            : undefined,
        60_000,
        20,
      );
      cached = await readCached();
      answeredBeforeCached = prometheus.stats.queries - queriesBefore;
    } finally {
      release();
    }
    const answers = await Promise.all(flood);
    keepAlive.destroy();

    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    const refused = answers.filter((a) => a.status === 429);
    const queries = prometheus.stats.queries - queriesBefore;
    t.diagnostic(
      `${FLOOD} distinct keys: ${JSON.stringify([...byStatus])}; ${queries} queries reached Prometheus, ` +
        `at most ${prometheus.stats.peakConcurrentQueries} at once; the cached key answered in ${cached.ms.toFixed(0)} ms`,
    );

    assert.equal(cached.status, 200, 'a cached metric is answered while the limiter is full');
    assert.equal(answeredBeforeCached, 0, 'and while every slot was still held: it waited for none');
    assert.ok(prometheus.stats.peakConcurrentQueries <= MAX_CONCURRENT);
    assert.equal(byStatus.get(200), MAX_CONCURRENT + MAX_QUEUED);
    assert.equal(refused.length, FLOOD - MAX_CONCURRENT - MAX_QUEUED);
    assert.equal(queries, MAX_CONCURRENT + MAX_QUEUED, 'refused keys never reached Prometheus');
    for (const answer of refused) {
      assert.equal(answer.headers['retry-after'], '1');
      assert.equal(answer.body.kind, 'Status');
      assert.equal(answer.body.reason, 'TooManyRequests');
      assert.deepEqual(answer.body.details, { retryAfterSeconds: 1 });
      assert.match(answer.body.message, /prometheus backend: too many requests at once/);
    }
    assert.equal(
      await adapterMetric(served.adapter.port, 'hpa_metrics_adapter_limiter_rejected_total', { limiter: 'prometheus' }),
      refused.length,
    );
  });
});
