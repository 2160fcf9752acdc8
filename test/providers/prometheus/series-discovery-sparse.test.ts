import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { parseConfig } from '../../../src/config/load.js';
import { createPrometheusBackend, type PrometheusBackend } from '../../../src/providers/prometheus/backend.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import { buildTestApp } from '../../support/app.js';
import { testBackendContext } from '../../support/backend-context.js';
import { type PrometheusServer, type SeriesSpec, startPrometheus } from '../../support/prometheus-server.js';

const TWO_HOURS = 7200;
/** A TSDB block boundary (blocks are cut every 2 hours) a few hours ago, inside the retention. */
const BOUNDARY = Math.floor(Date.now() / 1000 / TWO_HOURS) * TWO_HOURS - 2 * TWO_HOURS;
/** Written every 4 minutes, 2 minutes either side of the boundary: a sample ends each block. */
const SAMPLED_AT = [-600, -360, -120, 120, 360].map((offset) => BOUNDARY + offset);

const SPARSE: SeriesSpec[] = [
  { name: 'jobs_waiting', labels: { namespace: 'default', queue: 'batch' }, samples: SAMPLED_AT.map((t) => [t, 7]) },
  { name: 'queue_lag', labels: { namespace: 'default', pod: 'worker-1' }, samples: SAMPLED_AT.map((t) => [t, 3]) },
];

const RULES = `
  rules:
    - seriesQuery: '{__name__="queue_lag",namespace!="",pod!=""}'
      resources: { overrides: { namespace: { resource: namespace }, pod: { resource: pod } } }
      metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
  externalRules:
    - seriesQuery: '{__name__="jobs_waiting"}'
      metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`;

/**
 * /api/v1/series answers a series only from the TSDB blocks its window overlaps: a series written
 * less often than --metrics-max-age (60 s here, the default relist interval) has no block in a window
 * that falls between the last sample of one block and the first of the next, while an instant query
 * there still answers from the older sample (Prometheus looks back 5 minutes).
 */
describe('a sparse series at a TSDB block boundary, against a real Prometheus', () => {
  let prometheus: PrometheusServer;
  let backend: PrometheusBackend;
  let nowSeconds = BOUNDARY - 100;

  before(async () => {
    prometheus = await startPrometheus({ series: SPARSE });
    const yaml = `prometheus:\n  url: ${prometheus.url}\n${RULES}`;
    const settings = resolvePrometheusSettings(parseConfig(yaml, 'test config').prometheus, {
      metricsRelistIntervalMs: 60_000,
    });
    assert.ok(settings);
    backend = await createPrometheusBackend(settings, testBackendContext({ now: () => new Date(nowSeconds * 1000) }));
  });
  after(async () => {
    await backend?.close?.();
    await prometheus?.stop();
  });

  it('is still served when a relist falls in the gap between its samples', async () => {
    // The window [boundary - 160 s, boundary - 100 s] holds the sample at boundary - 120 s.
    await backend.start?.();
    assert.deepEqual(
      backend.external.listExternalMetrics().map((m) => m.metric),
      ['jobs_waiting'],
    );

    // [boundary - 30 s, boundary + 30 s] overlaps no block: the listing finds nothing.
    nowSeconds = BOUNDARY + 30;
    const listing = await fetch(
      `${prometheus.url}/api/v1/series?match[]=jobs_waiting&start=${nowSeconds - 60}&end=${nowSeconds}`,
    );
    assert.deepEqual(await listing.json(), { status: 'success', data: [] }, 'the gap this test is about');
    await backend.relist();

    const { app } = buildTestApp({ backends: [backend] });
    const external = await request(app).get('/apis/external.metrics.k8s.io/v1beta1/namespaces/default/jobs_waiting');
    assert.equal(external.status, 200, external.text);
    assert.deepEqual(
      external.body.items.map((i: { value: string; metricLabels: object }) => [i.metricLabels, i.value]),
      [[{ queue: 'batch' }, '7']],
    );
    const custom = await request(app).get(
      '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/worker-1/queue_lag',
    );
    assert.equal(custom.status, 200, custom.text);
    assert.equal(custom.body.items[0]?.value, '3');
  });
});
