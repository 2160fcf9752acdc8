import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { markCachedEntry } from '../../../src/cache/entry-identity.js';
import type { ExternalSample, MetricsBackend, Sample } from '../../../src/providers/provider.js';
import { RenderedBodies } from '../../../src/server/respond/rendered-bodies.js';
import { buildTestApp } from '../../support/app.js';

/** An answer as the cache hands it out: stored, and marked with the cache's entry identity. */
function cached<T extends object>(answer: T): T {
  markCachedEntry(answer);
  return answer;
}

describe('RenderedBodies keeps a body beside the answer it was rendered from', () => {
  let renders = 0;
  const render = (values: readonly number[], variant: string) => {
    renders++;
    return { variant, values };
  };

  it('renders a cached answer once per variant, and anew for a new answer or another variant', () => {
    const bodies = new RenderedBodies<readonly number[]>();
    renders = 0;
    const answer = cached([1, 2]);
    const first = bodies.get(answer, 'a', render);
    assert.equal(bodies.get(answer, 'a', render), first);
    assert.equal(renders, 1);
    assert.equal(first.json, '{"variant":"a","values":[1,2]}');
    assert.equal(bodies.get(answer, 'b', render).json, '{"variant":"b","values":[1,2]}');
    assert.equal(bodies.get(cached([1, 2]), 'b', render).json, '{"variant":"b","values":[1,2]}');
    assert.equal(renders, 3);
  });

  it('keeps nothing for an answer built per request (not from the cache), which could still change', () => {
    const bodies = new RenderedBodies<number[]>();
    renders = 0;
    const answer = [1, 2];
    assert.equal(bodies.get(answer, 'a', render).json, '{"variant":"a","values":[1,2]}');
    answer.push(3);
    assert.equal(bodies.get(answer, 'a', render).json, '{"variant":"a","values":[1,2,3]}');
    assert.equal(renders, 2);
  });

  it('keeps nothing for a frozen answer the cache did not store: freezing is not the contract', () => {
    const bodies = new RenderedBodies<readonly number[]>();
    renders = 0;
    const answer = Object.freeze([1, 2]);
    bodies.get(answer, 'a', render);
    bodies.get(answer, 'a', render);
    assert.equal(renders, 2);
  });

  it('keeps no body over 1 MiB, which the byte budget of the cache would not count', () => {
    const bodies = new RenderedBodies<readonly number[]>();
    renders = 0;
    const answer = cached(Array.from({ length: 300_000 }, (_, i) => i));
    bodies.get(answer, 'a', render);
    bodies.get(answer, 'a', render);
    assert.equal(renders, 2);
  });

  it('counts Content-Length in bytes, not characters', () => {
    const bodies = new RenderedBodies<object>();
    const body = bodies.get({}, 'x', () => ({ city: 'Zürich – 東京' }));
    assert.equal(body.bytes, Buffer.byteLength(body.json));
    assert.ok(body.bytes > body.json.length);
  });
});

describe('external answers served from kept bodies', () => {
  /** A backend whose answer is one cached array, handed out as it is until the test swaps it (a cache refresh). */
  function swappableBackend(metrics: string[]) {
    let answer: readonly ExternalSample[] = [];
    const backend: MetricsBackend = {
      name: 'swappable',
      external: {
        async getExternalMetric() {
          return answer;
        },
        listExternalMetrics: () => metrics.map((metric) => ({ metric })),
        servesExternal: (metric) => metrics.includes(metric),
      },
    };
    return {
      backend,
      answer(value: number) {
        answer = cached([{ labels: { queue: 'jobs' }, value, timestamp: new Date('2026-11-27T00:00:00Z') }]);
      },
    };
  }
  const path = (metric: string) => `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/${metric}`;

  it('a refreshed answer is served at once, never the body of the one before', async () => {
    const source = swappableBackend(['depth']);
    const { app } = buildTestApp({ backends: [source.backend] });
    source.answer(5);
    for (let i = 0; i < 3; i++) {
      const res = await request(app).get(path('depth')).expect(200);
      assert.equal(res.body.items[0].value, '5');
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.text)));
    }
    source.answer(7);
    const res = await request(app).get(path('depth')).expect(200);
    assert.equal(res.body.items[0].value, '7');
  });

  it('two metrics sharing one answer each get a body naming themselves', async () => {
    const source = swappableBackend(['depth', 'backlog']);
    const { app } = buildTestApp({ backends: [source.backend] });
    source.answer(3);
    for (const metric of ['depth', 'backlog', 'depth', 'backlog']) {
      const res = await request(app).get(path(metric)).expect(200);
      assert.equal(res.body.items[0].metricName, metric);
    }
  });

  it('HEAD gets the headers of the body and no body', async () => {
    const source = swappableBackend(['depth']);
    const { app } = buildTestApp({ backends: [source.backend] });
    source.answer(5);
    const get = await request(app).get(path('depth')).expect(200);
    const head = await request(app).head(path('depth')).expect(200);
    assert.equal(head.headers['content-length'], get.headers['content-length']);
    assert.equal(head.text, undefined);
  });
});

describe('one object’s custom metric served from kept bodies', () => {
  function swappableObjectBackend() {
    let sample: Sample = cached({ value: 0, timestamp: new Date('2026-11-27T00:00:00Z') });
    const backend: MetricsBackend = {
      name: 'swappable',
      custom: {
        async getMetricByName() {
          return sample;
        },
        async getMetricBySelector() {
          return [];
        },
        listCustomMetrics: () => [{ resource: { group: '', resource: 'pods' }, metric: 'load', namespaced: true }],
        servesCustom: (resource, metric) => resource.resource === 'pods' && metric === 'load',
      },
    };
    return {
      backend,
      answer(value: number) {
        sample = cached({ value, timestamp: new Date('2026-11-27T00:00:00Z') });
      },
    };
  }
  const url = (version: string, query = '') =>
    `/apis/custom.metrics.k8s.io/${version}/namespaces/default/pods/web-1/load${query}`;

  it('each URL gets its own body from the same sample: version and metricLabelSelector shape it', async () => {
    const source = swappableObjectBackend();
    const { app } = buildTestApp({ backends: [source.backend] });
    source.answer(2.5);
    for (let i = 0; i < 2; i++) {
      const v2 = await request(app).get(url('v1beta2')).expect(200);
      assert.deepEqual(v2.body.items[0].metric, { name: 'load' });
      assert.equal(v2.body.items[0].value, '2500m');
      const v1 = await request(app).get(url('v1beta1')).expect(200);
      assert.equal(v1.body.items[0].metricName, 'load');
      const selected = await request(app).get(url('v1beta2', '?metricLabelSelector=zone%3Da')).expect(200);
      assert.deepEqual(selected.body.items[0].metric.selector, { matchLabels: { zone: 'a' } });
    }
    source.answer(4);
    const res = await request(app).get(url('v1beta2')).expect(200);
    assert.equal(res.body.items[0].value, '4');
  });
});
