import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapterRequest, sampleOf } from '../support/adapter-client.js';
import { startAdapterOnPrometheus } from '../support/adapter-on-prometheus.js';
import { DEPLOYMENT_NODE_OPTIONS } from '../support/deployment-node-options.js';
import { type MisbehavingPrometheus, startMisbehavingPrometheus } from '../support/misbehaving-prometheus.js';
import { startedForFile } from '../support/started-for-file.js';

/**
 * A backend that answers what no Prometheus should: hundreds of MB, samples no clock can hold,
 * values that are not numbers. The adapter process (with the Deployment's heap limit) must stay
 * up, serve the last good value while it may, then answer 503 naming what was wrong — never a
 * 500, never a "no data" 404 cached over a good value.
 */

const TTL_MS = 1000;
/**
 * The stale read waits for the failed refresh, which for the huge answer reads 32 MiB first: at a
 * load of 22 on two cores that took more than the 1.9 s a 2 s maxStale left.
 */
const MAX_STALE_MS = 6000;
const HUGE_BYTES = 600 * 1024 * 1024;
const HUGE_READS = 6;
const MAX_RSS_GROWTH_BYTES = 128 * 1024 * 1024;

const CONFIG = `
prometheus:
  timeout: 20s
  externalRules:
  - seriesQuery: '{__name__="queue_depth",queue!=""}'
    name: {as: queue_depth}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
cache:
  prometheus: { ttl: ${TTL_MS}ms, maxStale: ${MAX_STALE_MS}ms, refreshAheadRatio: 0 }
`;

const path = (queue: string) =>
  `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3D${queue}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const prometheus = startedForFile(startMisbehavingPrometheus);
const served = startedForFile(() =>
  startAdapterOnPrometheus({
    config: CONFIG,
    prometheusUrl: prometheus.url,
    env: { NODE_OPTIONS: DEPLOYMENT_NODE_OPTIONS },
  }),
);

const rss = async () =>
  sampleOf(
    (await adapterRequest(served.adapter.port, '/metrics')).text,
    'hpa_metrics_adapter_process_resident_memory_bytes',
  ) ?? Number.NaN;

/** Reads a good value into the cache, then breaks the backend, and checks stale-then-503. */
async function staleThen503(queue: string, broken: MisbehavingPrometheus['answer'], message: RegExp): Promise<void> {
  prometheus.answer = { kind: 'value', value: '42' };
  const good = await adapterRequest(served.adapter.port, path(queue));
  assert.equal(good.status, 200, good.text);
  assert.equal(good.body.items[0].value, '42');
  const loadedAt = Date.now();

  prometheus.answer = broken;
  await sleep(TTL_MS + 100);
  const stale = await adapterRequest(served.adapter.port, path(queue));
  assert.equal(stale.status, 200, `within ttl + maxStale the last good value is served: ${stale.text}`);
  assert.equal(stale.body.items[0].value, '42');

  await sleep(Math.max(0, loadedAt + TTL_MS + MAX_STALE_MS + 300 - Date.now()));
  const down = await adapterRequest(served.adapter.port, path(queue));
  assert.equal(down.status, 503, down.text);
  assert.equal(down.body.reason, 'ServiceUnavailable');
  assert.match(down.body.message, message);
  assert.match(down.body.message, new RegExp(`no value younger than ${(TTL_MS + MAX_STALE_MS) / 1000}s is cached`));
}

describe('a Prometheus answering far more than any real answer', () => {
  it('stops reading at 32 MiB, serves the last value, then answers 503 naming the limit; RSS stays bounded', async (t) => {
    const before = await rss();
    await staleThen503(
      'jobs',
      { kind: 'huge', bytes: HUGE_BYTES },
      /prometheus backend at .* sent a query answer larger than the limit of 32 MiB \(maxResponseBytes\)/,
    );
    const written = prometheus.stats.hugeBytesWritten;
    for (let i = 0; i < HUGE_READS; i++) {
      const answer = await adapterRequest(served.adapter.port, path(`flood-${i}`));
      assert.equal(answer.status, 503, answer.text);
    }
    const afterRss = await rss();
    const perRead = (prometheus.stats.hugeBytesWritten - written) / HUGE_READS;
    t.diagnostic(
      `RSS ${mib(before)} before, ${mib(afterRss)} after ${HUGE_READS + 2} answers of up to ${mib(HUGE_BYTES)}; ` +
        `${mib(perRead)} sent per read before the adapter hung up`,
    );
    assert.equal(served.adapter.child.exitCode, null, 'the process is alive');
    assert.ok(perRead < 128 * 1024 * 1024, `the adapter stopped reading early (${mib(perRead)} sent per read)`);
    assert.ok(afterRss - before < MAX_RSS_GROWTH_BYTES, `RSS grew by ${mib(afterRss - before)}`);
  });
});

describe('a Prometheus answering malformed samples', () => {
  it('treats a timestamp no date can hold as a backend failure (stale, then 503 naming the field), never a 500', async () => {
    await staleThen503(
      'ts',
      { kind: 'raw-point', point: '[1e300,"5"]' },
      /malformed sample: data\.result\[0\]\.value\[0\] timestamp 1e\+300 is not a time/,
    );
  });

  it('treats an unparsable value as a backend failure, not as "no data" cached over the good value', async () => {
    await staleThen503(
      'value',
      { kind: 'raw-point', point: '[1700000000,"twelve"]' },
      /malformed sample: data\.result\[0\]\.value\[1\] value "twelve" is not a number/,
    );
  });

  it('answers 503 at once for a key with no good value, and never caches the failure', async () => {
    prometheus.answer = { kind: 'raw-point', point: '[1700000000,"1.2.3"]' };
    const bad = await adapterRequest(served.adapter.port, path('fresh'));
    assert.equal(bad.status, 503, bad.text);
    prometheus.answer = { kind: 'value', value: '7' };
    const good = await adapterRequest(served.adapter.port, path('fresh'));
    assert.equal(good.status, 200, `the next read asks the backend again: ${good.text}`);
    assert.equal(good.body.items[0].value, '7');
  });
});
