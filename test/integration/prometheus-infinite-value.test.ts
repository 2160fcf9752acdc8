import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Express } from 'express';
import request from 'supertest';
import type { RunningBackends } from '../../src/startup/backends.js';
import { type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';
import { startWiredApp } from '../support/wired-app.js';

/**
 * A real Prometheus series that holds 42 and then turns +Inf (a ratio whose denominator went to
 * zero, or a value like 1e400): no Kubernetes quantity holds it, so it must never be served, and
 * it must not replace the good value with a 404 either. Each metric answers as its failure policy
 * says, as it would for a Prometheus that failed. Wired as main.ts wires it, on the real clock.
 */
const TTL_MS = 500;
const CONFIG = `
prometheus:
  externalRules:
  - seriesQuery: '{__name__="jobs_ratio",queue!=""}'
    name: {as: jobs_ratio}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
  - seriesQuery: '{__name__="jobs_ratio",queue!=""}'
    name: {as: jobs_ratio_fixed}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue) + 0
  - seriesQuery: '{__name__="jobs_ratio",queue!=""}'
    name: {as: jobs_ratio_fail}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue) * 1
  failurePolicies:
    jobs_ratio_fixed: { onError: 7 }
    jobs_ratio_fail: { onError: fail }
cache:
  prometheus: { ttl: ${TTL_MS}ms, maxStale: 1m, negativeTtl: 0s, refreshAheadRatio: 0 }
`;
const path = (metric: string) =>
  `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/${metric}?labelSelector=queue%3Djobs`;

describe('a Prometheus series that turns +Inf', () => {
  let prometheus: PrometheusServer;
  let backends: RunningBackends;
  let app: Express;
  /** Unix seconds of the first +Inf sample. */
  let turnsInfinite: number;

  before(async () => {
    const now = Math.floor(Date.now() / 1000);
    // Far enough ahead for set-up on a loaded machine to finish while the value is still finite.
    turnsInfinite = now + 12;
    const samples: [number, number][] = [];
    for (let t = now - 600; t <= now + 600; t++) samples.push([t, t < turnsInfinite ? 42 : Number.POSITIVE_INFINITY]);
    prometheus = await startPrometheus({
      series: [{ name: 'jobs_ratio', labels: { namespace: 'default', queue: 'jobs' }, samples }],
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

  it('keeps serving the last good value (or the policy’s value), never a 404', async () => {
    assert.ok(Date.now() < turnsInfinite * 1000 - 1000, 'the test set-up took too long to see the finite value');
    const before = await request(app).get(path('jobs_ratio'));
    assert.equal(before.status, 200, before.text);
    assert.equal(before.body.items[0].value, '42');
    for (const metric of ['jobs_ratio_fixed', 'jobs_ratio_fail']) {
      const res = await request(app).get(path(metric));
      assert.equal(res.body.items?.[0]?.value, '42', `${metric}: ${res.text}`);
    }

    await sleep(turnsInfinite * 1000 + 1000 - Date.now());
    const lastGood = await request(app).get(path('jobs_ratio'));
    assert.equal(lastGood.status, 200, lastGood.text);
    assert.equal(lastGood.body.items[0].value, '42', 'onError lastGood (the default): the cached value');
    assert.equal(lastGood.body.items[0].timestamp, before.body.items[0].timestamp, 'with its own datapoint time');

    const fixed = await request(app).get(path('jobs_ratio_fixed'));
    assert.equal(fixed.status, 200, fixed.text);
    assert.equal(fixed.body.items[0].value, '7', 'onError: 7');

    const failed = await request(app).get(path('jobs_ratio_fail'));
    assert.equal(failed.status, 503, failed.text);
    assert.match(
      failed.body.message,
      /answered \+Inf for series \{queue="jobs"\} to .*no Kubernetes quantity can hold/,
    );
  });
});
