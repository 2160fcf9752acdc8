import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { parseConfig } from '../../../src/config/load.js';
import { createPrometheusBackend, type PrometheusBackend } from '../../../src/providers/prometheus/backend.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import { buildTestApp } from '../../support/app.js';
import { testBackendContext } from '../../support/backend-context.js';
import { explain } from '../../support/explain.js';
import { type PrometheusServer, type SeriesSpec, startPrometheus } from '../../support/prometheus-server.js';
import { WAITING_RULES } from './fixtures.js';

const TWO_HOURS = 7200;
/** A TSDB block boundary (blocks are cut every 2 hours) a few hours ago, inside the retention. */
const BOUNDARY = Math.floor(Date.now() / 1000 / TWO_HOURS) * TWO_HOURS - 2 * TWO_HOURS;
/** Written every 4 minutes, 2 minutes either side of the boundary: a sample ends each block. */
const SAMPLED_AT = [-600, -360, -120, 120, 360].map((offset) => BOUNDARY + offset);

const SPARSE: SeriesSpec[] = [
  { name: 'jobs_waiting', labels: { namespace: 'default', queue: 'batch' }, samples: SAMPLED_AT.map((t) => [t, 7]) },
  { name: 'queue_lag', labels: { namespace: 'default', pod: 'worker-1' }, samples: SAMPLED_AT.map((t) => [t, 3]) },
];

/**
 * /api/v1/series answers a series only from the TSDB blocks its window overlaps: a series written
 * less often than --metrics-max-age (60 s here, the default relist interval) has no block in a window
 * that falls between the last sample of one block and the first of the next, while an instant query
 * there still answers from the older sample (Prometheus looks back 5 minutes).
 */
describe('a sparse series at a TSDB block boundary, against a real Prometheus', () => {
  let prometheus: PrometheusServer;
  const backends: PrometheusBackend[] = [];

  before(async () => {
    prometheus = await startPrometheus({ series: SPARSE });
  });
  after(async () => {
    for (const backend of backends) await backend.close?.();
    await prometheus?.stop();
  });

  /** A backend (not started) whose clock reads `clock.seconds`. */
  async function backendAt(clock: { seconds: number }): Promise<PrometheusBackend> {
    const yaml = `prometheus:\n  url: ${prometheus.url}\n${WAITING_RULES}`;
    const settings = resolvePrometheusSettings(parseConfig(yaml, 'test config').prometheus, {
      metricsRelistIntervalMs: 60_000,
    });
    assert.ok(settings);
    const backend = await createPrometheusBackend(
      settings,
      testBackendContext({ now: () => new Date(clock.seconds * 1000) }),
    );
    backends.push(backend);
    return backend;
  }

  /** [boundary - 30 s, boundary + 30 s] overlaps no block: a 60 s listing there finds nothing. */
  const IN_THE_GAP = BOUNDARY + 30;

  it('finds nothing in a 60 s window at the boundary (the premise)', async () => {
    const listing = await fetch(
      `${prometheus.url}/api/v1/series?match[]=jobs_waiting&start=${IN_THE_GAP - 60}&end=${IN_THE_GAP}`,
    );
    assert.deepEqual(await listing.json(), { status: 'success', data: [] });
  });

  it('is still served when a relist falls in the gap between its samples', async () => {
    // The window [boundary - 160 s, boundary - 100 s] holds the sample at boundary - 120 s.
    const clock = { seconds: BOUNDARY - 100 };
    const backend = await backendAt(clock);
    await backend.start?.();
    assert.deepEqual(
      backend.external.listExternalMetrics().map((m) => m.metric),
      ['jobs_waiting'],
    );
    clock.seconds = IN_THE_GAP;
    await backend.relist();
    await assertServed(backend);
  });

  it('is served by an adapter that starts in the gap', async () => {
    const backend = await backendAt({ seconds: IN_THE_GAP });
    await backend.start?.();
    await assertServed(backend);
  });

  it('is shown by explain at a time in the gap, as the adapter would serve it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'explain-sparse-'));
    try {
      const config = join(dir, 'adapter.yaml');
      await writeFile(config, `prometheus:\n${WAITING_RULES}`);
      const { code, text } = await explain(
        ...['--config', config, '--prometheus-url', prometheus.url, '--time', String(IN_THE_GAP)],
        ...['jobs_waiting', '--namespace', 'default'],
      );
      assert.equal(code, 0, text);
      assert.match(text, /^external metrics announced \(1\): jobs_waiting$/m);
      assert.match(text, /^ {2}result: {2}\{queue="batch"\} 7 at /m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** What an HPA reads of both metrics at the backend's clock: answered, not 404. */
async function assertServed(backend: PrometheusBackend): Promise<void> {
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
}
