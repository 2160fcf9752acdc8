import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import type { Forwarding } from '../../../src/upstreams/forwarding.js';
import { buildTestApp } from '../../support/app.js';

const { app } = buildTestApp();
const CUSTOM = '/apis/custom.metrics.k8s.io';
const EXTERNAL = '/apis/external.metrics.k8s.io/v1beta1';

async function getJson(path: string, status = 200) {
  const res = await request(app).get(path);
  assert.equal(res.status, status, `GET ${path} → ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  return res.body;
}

describe('custom metrics, one object by name', () => {
  it('v1beta1 answers a MetricValueList with metricName, window and an explicit null selector', async () => {
    const body = await getJson(`${CUSTOM}/v1beta1/namespaces/default/pods/web-1/http_requests`);
    assert.equal(body.kind, 'MetricValueList');
    assert.equal(body.apiVersion, 'custom.metrics.k8s.io/v1beta1');
    assert.deepEqual(body.metadata, {});
    assert.equal(body.items.length, 1);
    const item = body.items[0];
    assert.deepEqual(item.describedObject, { kind: 'Pod', namespace: 'default', name: 'web-1', apiVersion: '/v1' });
    assert.equal(item.metricName, 'http_requests');
    assert.equal(item.window, 60);
    assert.equal(item.value, '10');
    assert.equal(item.selector, null);
    assert.match(item.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('v1beta2 answers metric.name and windowSeconds, with no selector when none was asked', async () => {
    const body = await getJson(`${CUSTOM}/v1beta2/namespaces/default/pods/web-2/http_requests`);
    assert.equal(body.apiVersion, 'custom.metrics.k8s.io/v1beta2');
    const item = body.items[0];
    assert.deepEqual(item.metric, { name: 'http_requests' });
    assert.equal(item.windowSeconds, 60);
    assert.equal(item.value, '500m');
    assert.equal('metricName' in item, false);
  });

  it('echoes metricLabelSelector as a LabelSelector in both versions', async () => {
    const q = `?metricLabelSelector=${encodeURIComponent('verb=GET,code!=500')}`;
    const v1 = await getJson(`${CUSTOM}/v1beta1/namespaces/default/pods/web-1/http_requests${q}`);
    assert.deepEqual(v1.items[0].selector, {
      matchLabels: { verb: 'GET' },
      matchExpressions: [{ key: 'code', operator: 'NotIn', values: ['500'] }],
    });
    const v2 = await getJson(`${CUSTOM}/v1beta2/namespaces/default/pods/web-1/http_requests${q}`);
    assert.deepEqual(v2.items[0].metric.selector, v1.items[0].selector);
  });

  for (const resource of ['pods', 'pod', 'Pod', 'PODS']) {
    it(`accepts the resource spelled "${resource}"`, async () => {
      const body = await getJson(`${CUSTOM}/v1beta2/namespaces/default/${resource}/web-1/http_requests`);
      assert.equal(body.items[0].describedObject.kind, 'Pod');
    });
  }

  for (const resource of ['deployments.apps', 'deployment.apps', 'Deployment.apps', 'deployments']) {
    it(`resolves "${resource}" to apps/v1 Deployment`, async () => {
      const body = await getJson(`${CUSTOM}/v1beta1/namespaces/default/${resource}/worker/queue_lag`);
      assert.deepEqual(body.items[0].describedObject, {
        kind: 'Deployment',
        namespace: 'default',
        name: 'worker',
        apiVersion: 'apps/v1',
      });
      assert.equal(body.items[0].value, '1234567');
    });
  }

  it('serves root-scoped objects without a namespace', async () => {
    const body = await getJson(`${CUSTOM}/v1beta2/nodes/node-a/pressure`);
    assert.deepEqual(body.items[0].describedObject, { kind: 'Node', name: 'node-a', apiVersion: '/v1' });
  });

  it('serves namespaces/{ns}/metrics/{metric} as the Namespace object itself', async () => {
    const body = await getJson(`${CUSTOM}/v1beta2/namespaces/default/metrics/budget`);
    assert.deepEqual(body.items[0].describedObject, { kind: 'Namespace', name: 'default', apiVersion: '/v1' });
    assert.equal(body.items[0].value, '7');
  });

  it('accepts a fieldSelector that names the object in the path', async () => {
    const body = await getJson(
      `${CUSTOM}/v1beta1/namespaces/default/pods/web-1/http_requests?fieldSelector=metadata.name%3Dweb-1`,
    );
    assert.equal(body.items.length, 1);
  });

  it('refuses a fieldSelector naming another object, saying both names', async () => {
    const body = await getJson(
      `${CUSTOM}/v1beta1/namespaces/default/pods/web-1/http_requests?fieldSelector=metadata.name%3Dweb-2`,
      400,
    );
    assert.equal(body.reason, 'BadRequest');
    assert.match(body.message, /web-2.*web-1/);
  });

  it('answers 404 naming the object when it has no data', async () => {
    const body = await getJson(`${CUSTOM}/v1beta1/namespaces/default/pods/web-9/http_requests`, 404);
    assert.equal(body.kind, 'Status');
    assert.match(body.message, /http_requests/);
    assert.match(body.message, /web-9/);
    assert.match(body.message, /default/);
  });
});

describe('custom metrics, objects by label selector', () => {
  it('returns one item per matching object in the namespace only', async () => {
    const body = await getJson(`${CUSTOM}/v1beta2/namespaces/default/pods/*/http_requests?labelSelector=app%3Dweb`);
    assert.deepEqual(
      body.items.map((i: { describedObject: { name: string; namespace: string } }) => [
        i.describedObject.namespace,
        i.describedObject.name,
      ]),
      [
        ['default', 'web-1'],
        ['default', 'web-2'],
      ],
    );
  });

  it('applies set-based selectors', async () => {
    const selector = encodeURIComponent('app in (web),tier notin (front)');
    const body = await getJson(`${CUSTOM}/v1beta1/namespaces/default/pods/*/http_requests?labelSelector=${selector}`);
    assert.deepEqual(
      body.items.map((i: { describedObject: { name: string } }) => i.describedObject.name),
      ['web-2'],
    );
  });

  it('narrows * with fieldSelector=metadata.name', async () => {
    const body = await getJson(
      `${CUSTOM}/v1beta1/namespaces/default/pods/*/http_requests?fieldSelector=metadata.name%3D%3Dweb-2`,
    );
    assert.deepEqual(
      body.items.map((i: { describedObject: { name: string } }) => i.describedObject.name),
      ['web-2'],
    );
  });

  it('answers 404 naming resource, namespace and selector when nothing matches', async () => {
    const body = await getJson(
      `${CUSTOM}/v1beta1/namespaces/default/pods/*/http_requests?labelSelector=app%3Dnone`,
      404,
    );
    assert.match(body.message, /pods in namespace "default" matching labelSelector "app=none"/);
  });

  it('serves root-scoped objects by selector', async () => {
    const body = await getJson(`${CUSTOM}/v1beta1/nodes/*/pressure?labelSelector=zone%3Da`);
    assert.equal(body.items[0].describedObject.name, 'node-a');
  });
});

describe('external metrics', () => {
  it('returns every series with its labels when no selector is given', async () => {
    const body = await getJson(`${EXTERNAL}/namespaces/default/queue-depth`);
    assert.equal(body.kind, 'ExternalMetricValueList');
    assert.equal(body.apiVersion, 'external.metrics.k8s.io/v1beta1');
    assert.deepEqual(
      body.items.map((i: { metricName: string; metricLabels: object; value: string }) => [
        i.metricName,
        i.metricLabels,
        i.value,
      ]),
      [
        ['queue-depth', { queue: 'jobs' }, '42'],
        ['queue-depth', { queue: 'emails' }, '2250m'],
      ],
    );
  });

  it('uses labelSelector to select series', async () => {
    const body = await getJson(`${EXTERNAL}/namespaces/default/queue-depth?labelSelector=queue%3Djobs`);
    assert.equal(body.items.length, 1);
    assert.equal(body.items[0].value, '42');
  });

  it('answers 404 naming metric, namespace and selector when no series match', async () => {
    const body = await getJson(`${EXTERNAL}/namespaces/default/queue-depth?labelSelector=queue%3Dnope`, 404);
    assert.match(body.message, /queue-depth.*default.*queue=nope/);
  });

  it('answers 403 when the metric may not be read from the namespace', async () => {
    const body = await getJson(`${EXTERNAL}/namespaces/default/team-only`, 403);
    assert.equal(body.reason, 'Forbidden');
    assert.match(body.message, /team-a/);
    await getJson(`${EXTERNAL}/namespaces/team-a/team-only`, 200);
  });

  it('answers 404 for a metric no backend serves, pointing at discovery', async () => {
    const body = await getJson(`${EXTERNAL}/namespaces/default/unknown-metric`, 404);
    assert.match(body.message, /unknown-metric.*not served/);
  });
});

describe('upstreams, when none is configured', () => {
  it('are not asked about any metric request', async () => {
    const asked: string[] = [];
    let configured = false;
    const forwarding: Forwarding = {
      hasUpstreams: () => configured,
      upstreamFor(target) {
        asked.push(target.discoveryName);
        return undefined;
      },
      resources: () => [],
    };
    const { app: withForwarding } = buildTestApp({ forwarding });
    const read = async (path: string) => {
      const res = await request(withForwarding).get(path);
      assert.equal(res.status, 200, res.text);
    };
    await read(`${EXTERNAL}/namespaces/default/queue-depth`);
    await read(`${CUSTOM}/v1beta2/namespaces/default/pods/web-1/http_requests`);
    assert.deepEqual(asked, []);
    // Once one is configured (a reload), every metric request asks again.
    configured = true;
    await read(`${EXTERNAL}/namespaces/default/queue-depth`);
    await read(`${CUSTOM}/v1beta2/namespaces/default/pods/web-1/http_requests`);
    assert.deepEqual(asked, ['queue-depth', 'pods/http_requests']);
  });
});
