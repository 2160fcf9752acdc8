import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import type { HpaRefresher } from '../../src/refresh/hpa-refresher.js';
import { metricValue } from '../cache/fakes.js';
import { hpaObject } from '../support/hpa-objects.js';
import { gauge } from '../support/prometheus-server.js';
import type { RefreshReplica } from '../support/refresh-replica.js';
import { refreshSuite } from '../support/refresh-suite.js';

const TTL_MS = 2_000;
// Two external metrics over the same series: one keeps its last good value when Prometheus fails, one fails at once.
const CONFIG = `
prometheus:
  failurePolicies:
    queue_depth_strict: { onError: fail }
externalRules:
- seriesQuery: '{__name__="broker_queue_depth",queue!=""}'
  name: {as: queue_depth}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
- seriesQuery: '{__name__="broker_queue_depth",queue!=""}'
  name: {as: queue_depth_strict}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
cache:
  prometheus: { ttl: 2s, maxStale: 1m }
`;
const HPAS = { group: 'autoscaling', resource: 'horizontalpodautoscalers', namespace: 'default' };

describe('HPA-aware refresh: the reads of the cluster HPAs kept fresh in the cache', () => {
  const suite = refreshSuite((range) =>
    ['q1', 'q2', 'q3'].map((queue, i) => gauge('broker_queue_depth', { namespace: 'default', queue }, 10 + i, range)),
  );
  let registry: Registry;
  let log: RefreshReplica['log'];
  let poll: RefreshReplica['poll'];

  /** One replica's refresher, as main.ts wires it. */
  async function start(): Promise<HpaRefresher> {
    const replica = await suite.startReplica(CONFIG);
    ({ registry, log, poll } = replica);
    return replica.refresher;
  }

  const hpa = (name: string, queue: string, metric = 'queue_depth') =>
    hpaObject('default', name, [{ type: 'External', name: metric, matchLabels: { queue } }]);

  it('refreshes the reads of created and changed HPAs, and stops when they are deleted or no longer named', async () => {
    suite.double.watch.put(hpa('checkout', 'q1'));
    const kept = await start();
    assert.equal(await kept.warmUp(5_000), true);
    assert.deepEqual(
      kept.kept().map((k) => k.path),
      ['/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3Dq1'],
    );
    assert.deepEqual(await poll('q1'), { result: 'hit', value: 10 }, 'the first poll of a new replica is a hit');
    await sleep(2.5 * TTL_MS);
    assert.deepEqual(await poll('q1'), { result: 'hit', value: 10 }, 'still a hit past the TTL: refreshed before it');

    // The metric changes: the new read is refreshed, the old one is left to expire.
    suite.double.watch.put(hpa('checkout', 'q2'));
    await waitUntil(() => kept.kept().some((k) => k.path.endsWith('q2')));
    assert.equal(kept.kept().length, 1);
    await sleep(2.5 * TTL_MS);
    assert.equal((await poll('q2')).result, 'hit');
    assert.equal((await poll('q1')).result, 'miss', 'a read no HPA makes any more expires as before');

    suite.double.watch.remove({ ...HPAS, name: 'checkout' });
    await waitUntil(() => kept.kept().length === 0);
    await sleep(2.5 * TTL_MS);
    assert.equal((await poll('q2')).result, 'miss', 'a deleted HPA read is no longer refreshed');
  });

  it('never refreshes a key no HPA names', async () => {
    suite.double.watch.put(hpa('checkout', 'q1'));
    const kept = await start();
    await kept.warmUp(5_000);
    assert.equal((await poll('q3')).result, 'miss');
    assert.equal((await poll('q3')).result, 'hit');
    await sleep(2.5 * TTL_MS);
    assert.equal((await poll('q3')).result, 'miss', 'q3 expired: nobody refreshed it');
    assert.equal((await poll('q1')).result, 'hit');
  });

  it('without RBAC to watch HPAs, serves as before and says so in one log line and a metric', async () => {
    suite.double.forbiddenResources.add('horizontalpodautoscalers.autoscaling');
    suite.double.watch.put(hpa('checkout', 'q1'));
    const kept = await start();
    assert.equal(await kept.warmUp(2_000), false);
    await sleep(300);
    assert.deepEqual(kept.kept(), []);
    assert.equal((await poll('q1')).result, 'miss');
    assert.equal((await poll('q1')).result, 'hit');
    const lines = log.lines.filter((line) => /HPA-aware refresh is off/.test(String(line.msg)));
    assert.equal(lines.length, 1, 'said once, though the watch was retried');
    assert.equal(
      await metricValue(registry, 'hpa_metrics_adapter_hpa_refresh_active', { state: 'watch_forbidden' }),
      0,
    );
  });

  it('a refresh that fails keeps the last good value for the metric whose failure policy takes it', async () => {
    suite.double.watch.put(hpa('checkout', 'q1'));
    suite.double.watch.put(hpa('strict', 'q1', 'queue_depth_strict'));
    const kept = await start();
    assert.equal(await kept.warmUp(5_000), true);
    await suite.prometheus.pause();
    try {
      await sleep(2.5 * TTL_MS);
      assert.deepEqual(await poll('q1'), { result: 'stale', value: 10 }, 'onError lastGood: the last good value');
      assert.equal((await poll('q1', 'queue_depth_strict')).value, undefined, 'onError fail: the error');
      assert.ok(
        (await metricValue(registry, 'hpa_metrics_adapter_hpa_refreshes_total', { outcome: 'error' })) > 0,
        'the refreshes failed',
      );
    } finally {
      await suite.prometheus.restart();
    }
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}
