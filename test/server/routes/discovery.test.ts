import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram } from 'prom-client';
import request from 'supertest';
import { buildTestApp } from '../../support/app.js';

const { app, setReady } = buildTestApp();

describe('discovery', () => {
  it('/apis lists both groups with their preferred versions', async () => {
    const res = await request(app).get('/apis').expect(200);
    assert.equal(res.body.kind, 'APIGroupList');
    assert.deepEqual(res.body.groups, [
      {
        name: 'custom.metrics.k8s.io',
        versions: [
          { groupVersion: 'custom.metrics.k8s.io/v1beta2', version: 'v1beta2' },
          { groupVersion: 'custom.metrics.k8s.io/v1beta1', version: 'v1beta1' },
        ],
        preferredVersion: { groupVersion: 'custom.metrics.k8s.io/v1beta2', version: 'v1beta2' },
      },
      {
        name: 'external.metrics.k8s.io',
        versions: [{ groupVersion: 'external.metrics.k8s.io/v1beta1', version: 'v1beta1' }],
        preferredVersion: { groupVersion: 'external.metrics.k8s.io/v1beta1', version: 'v1beta1' },
      },
    ]);
  });

  it('/apis/<group> is an APIGroup, with or without a trailing slash', async () => {
    for (const path of ['/apis/external.metrics.k8s.io', '/apis/external.metrics.k8s.io/']) {
      const res = await request(app).get(path).expect(200);
      assert.equal(res.body.kind, 'APIGroup');
      assert.equal(res.body.name, 'external.metrics.k8s.io');
    }
  });

  for (const version of ['v1beta1', 'v1beta2']) {
    it(`custom ${version} lists every configured metric as <resource>/<metric>`, async () => {
      const res = await request(app).get(`/apis/custom.metrics.k8s.io/${version}`).expect(200);
      assert.equal(res.body.kind, 'APIResourceList');
      assert.equal(res.body.groupVersion, `custom.metrics.k8s.io/${version}`);
      assert.deepEqual(res.body.resources, [
        { name: 'pods/http_requests', singularName: '', namespaced: true, kind: 'MetricValueList', verbs: ['get'] },
        {
          name: 'deployments.apps/queue_lag',
          singularName: '',
          namespaced: true,
          kind: 'MetricValueList',
          verbs: ['get'],
        },
        { name: 'nodes/pressure', singularName: '', namespaced: false, kind: 'MetricValueList', verbs: ['get'] },
        { name: 'namespaces/budget', singularName: '', namespaced: false, kind: 'MetricValueList', verbs: ['get'] },
        {
          name: 'discovery-placeholder',
          singularName: 'discovery-placeholder',
          namespaced: true,
          kind: 'MetricValueList',
          verbs: ['get'],
        },
      ]);
    });
  }

  it('external v1beta1 lists the external metrics', async () => {
    const res = await request(app).get('/apis/external.metrics.k8s.io/v1beta1').expect(200);
    assert.deepEqual(
      res.body.resources.map((r: { name: string; kind: string; namespaced: boolean }) => [
        r.name,
        r.kind,
        r.namespaced,
      ]),
      [
        ['queue-depth', 'ExternalMetricValueList', true],
        ['team-only', 'ExternalMetricValueList', true],
        ['discovery-placeholder', 'ExternalMetricValueList', true],
      ],
    );
  });
});

describe('health and version', () => {
  it('/healthz and /livez answer ok', async () => {
    for (const path of ['/healthz', '/livez']) {
      const res = await request(app).get(path).expect(200);
      assert.equal(res.text, 'ok');
    }
  });

  it('/readyz turns 503 when shutdown starts, while liveness stays ok', async () => {
    await request(app).get('/readyz').expect(200);
    setReady(false);
    try {
      await request(app).get('/readyz').expect(503);
      await request(app).get('/livez').expect(200);
    } finally {
      setReady(true);
    }
  });

  it('/version reports the package version', async () => {
    const res = await request(app).get('/version').expect(200);
    assert.equal(res.body.gitVersion, 'v1.2.3');
    assert.equal(res.body.major, '1');
    assert.equal(res.body.minor, '2');
  });
});

describe('self metrics', () => {
  it('/metrics counts requests by group, version, verb and code', async () => {
    const { app: fresh } = buildTestApp();
    await request(fresh).get('/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue-depth').expect(200);
    await request(fresh).get('/apis/external.metrics.k8s.io/v1beta1/namespaces/default/nope').expect(404);
    const res = await request(fresh).get('/metrics').expect(200);
    assert.match(
      res.text,
      /hpa_metrics_adapter_requests_total\{group="external.metrics.k8s.io",version="v1beta1",verb="get",code="200"\} 1/,
    );
    assert.match(
      res.text,
      /hpa_metrics_adapter_requests_total\{group="external.metrics.k8s.io",version="v1beta1",verb="get",code="404"\} 1/,
    );
    assert.match(res.text, /hpa_metrics_adapter_request_duration_seconds_bucket/);
  });

  it('counts an answered request without a prom-client inc(): the counts reach the counter when it is scraped', async () => {
    const { app: fresh, metrics } = buildTestApp();
    const { counter } = metrics.requests;
    const inc = counter.inc.bind(counter);
    let incs = 0;
    counter.inc = ((...args: Parameters<typeof inc>) => {
      incs++;
      return inc(...args);
    }) as typeof counter.inc;
    const path = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue-depth';
    for (let i = 0; i < 3; i++) await request(fresh).get(path).expect(200);
    assert.equal(incs, 0);
    const res = await request(fresh).get('/metrics').expect(200);
    assert.equal(incs, 1, 'one inc() per label set at the scrape');
    assert.match(
      res.text,
      /^hpa_metrics_adapter_requests_total\{group="external.metrics.k8s.io",version="v1beta1",verb="get",code="200"\} 3$/m,
    );
  });

  it("observes an answered request's duration without prom-client's observe(): the scrape reports it", async (t) => {
    // prom-client's Histogram takes its observe from this undeclared method when it is made.
    const prototype = Histogram.prototype as unknown as { observeWithoutExemplar(...args: unknown[]): void };
    const observe = t.mock.method(prototype, 'observeWithoutExemplar');
    const { app: fresh } = buildTestApp();
    const path = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue-depth';
    for (let i = 0; i < 3; i++) await request(fresh).get(path).expect(200);
    assert.equal(observe.mock.callCount(), 0);
    const res = await request(fresh).get('/metrics').expect(200);
    assert.match(
      res.text,
      /^hpa_metrics_adapter_request_duration_seconds_count\{group="external.metrics.k8s.io",verb="get",code="200"\} 3$/m,
    );
  });

  it('the in-flight gauge counts requests being served: the scrape itself, not those answered', async () => {
    const { app: fresh } = buildTestApp();
    await request(fresh).get('/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue-depth').expect(200);
    await request(fresh).get('/apis/external.metrics.k8s.io/v1beta1/namespaces/default/nope').expect(404);
    await request(fresh).get('/apis/external.metrics.k8s.io/v1beta1/namespaces/Bad/x').expect(400);
    const res = await request(fresh).get('/metrics').expect(200);
    assert.match(res.text, /^hpa_metrics_adapter_requests_in_flight 1$/m);
  });

  it('labels made-up versions "other", so no URL can add metrics series', async () => {
    const { app: fresh } = buildTestApp();
    for (let i = 0; i < 20; i++) {
      await request(fresh).get(`/apis/external.metrics.k8s.io/v${i}x/namespaces/default/queue-depth`).expect(404);
    }
    const res = await request(fresh).get('/metrics').expect(200);
    const series = res.text.split('\n').filter((line) => line.startsWith('hpa_metrics_adapter_requests_total{'));
    assert.deepEqual(series, [
      'hpa_metrics_adapter_requests_total{group="external.metrics.k8s.io",version="other",verb="get",code="404"} 20',
    ]);
  });
});
