import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import request from 'supertest';
import { ApiError } from '../../../src/api/errors.js';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { buildTestApp } from '../../support/app.js';

/** What kube-controller-manager's clients (the HPA's metrics clients among them) send. */
const CONTROLLER_ACCEPT = 'application/vnd.kubernetes.protobuf, */*';
const PROTOBUF_ONLY = 'application/vnd.kubernetes.protobuf';

const { app } = buildTestApp();

describe('content negotiation', () => {
  for (const path of [
    '/apis',
    '/apis/custom.metrics.k8s.io',
    '/apis/custom.metrics.k8s.io/v1beta2',
    '/apis/external.metrics.k8s.io/v1beta1',
    '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue-depth',
    '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-1/http_requests',
  ]) {
    it(`the controller's "${CONTROLLER_ACCEPT}" gets JSON labelled application/json on ${path}`, async () => {
      const res = await request(app).get(path).set('Accept', CONTROLLER_ACCEPT).expect(200);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.ok(JSON.parse(res.text).kind, 'every body carries kind');
    });

    it(`a protobuf-only client gets a 406 Status saying JSON is served, on ${path}`, async () => {
      const res = await request(app).get(path).set('Accept', PROTOBUF_ONLY).expect(406);
      assert.equal(res.headers['content-type'], 'application/json');
      const status = JSON.parse(res.text);
      assert.equal(status.kind, 'Status');
      assert.equal(status.reason, 'NotAcceptable');
      assert.equal(status.code, 406);
      assert.match(status.message, /Accept: application\/vnd\.kubernetes\.protobuf\).*serves application\/json/);
    });
  }

  it('no Accept header, application/*, and q-values that still allow JSON all get JSON', async () => {
    for (const accept of [undefined, 'application/*', `${PROTOBUF_ONLY};q=1, application/json;q=0.5`]) {
      const req = request(app).get('/apis/external.metrics.k8s.io/v1beta1');
      if (accept) req.set('Accept', accept);
      const res = await req.expect(200);
      assert.equal(res.headers['content-type'], 'application/json');
    }
  });

  it('JSON refused with q=0 is not served', async () => {
    await request(app).get('/apis/external.metrics.k8s.io/v1beta1').set('Accept', 'application/json;q=0').expect(406);
  });

  it('an aggregated-discovery Accept on a group-version document falls back to the plain JSON it also lists', async () => {
    const res = await request(app)
      .get('/apis/external.metrics.k8s.io/v1beta1')
      .set('Accept', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json')
      .expect(200);
    assert.equal(JSON.parse(res.text).kind, 'APIResourceList');
  });
});

describe('availability check', () => {
  it('group-version documents answer while every backend call hangs forever, and never 503', async () => {
    let backendCalls = 0;
    const hanging: MetricsBackend = {
      name: 'down',
      external: {
        getExternalMetric: () => {
          backendCalls++;
          return new Promise(() => {});
        },
        listExternalMetrics: () => [{ metric: 'jobs' }],
        servesExternal: (metric) => metric === 'jobs',
      },
    };
    const { app: down } = buildTestApp({ backends: [hanging] });
    // kube-apiserver probes five at a time; do it a few rounds.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        [
          '/apis/external.metrics.k8s.io/v1beta1',
          '/apis/custom.metrics.k8s.io/v1beta1',
          '/apis',
          '/apis/custom.metrics.k8s.io/v1beta2',
          '/apis/external.metrics.k8s.io',
        ].map((path) => request(down).get(path).timeout(2000)),
      );
      assert.deepEqual(
        answers.map((a) => a.status),
        [200, 200, 200, 200, 200],
      );
    }
    assert.equal(backendCalls, 0, 'discovery never calls a backend');
  });

  it('under load: with 300 metric requests stuck on a dead backend, every probe is answered before any of them', async () => {
    // A backend that answers nothing until the test lets go of it, after the probes: no deadline
    // can end a metric read first, however slowly a loaded machine accepts the 305 connections.
    const waiting: Array<(error: ApiError) => void> = [];
    const hanging: MetricsBackend = {
      name: 'down',
      external: {
        getExternalMetric: () =>
          new Promise((_, reject) => {
            waiting.push(reject);
          }),
        listExternalMetrics: () => [{ metric: 'jobs' }],
        servesExternal: (metric) => metric === 'jobs',
      },
    };
    const { app: down } = buildTestApp({ backends: [hanging], requestTimeoutMs: 60_000 });
    const server = down.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const finished: string[] = [];
      const stuck = Array.from({ length: 300 }, () =>
        fetch(`${base}/apis/external.metrics.k8s.io/v1beta1/namespaces/default/jobs`).then((r) => {
          finished.push('metric');
          return r.status;
        }),
      );
      const probes = Array.from({ length: 5 }, (_, i) =>
        fetch(`${base}/apis/${i % 2 ? 'custom.metrics.k8s.io/v1beta1' : 'external.metrics.k8s.io/v1beta1'}`).then(
          (r) => {
            finished.push('probe');
            return r.status;
          },
        ),
      );
      assert.deepEqual(await Promise.all(probes), [200, 200, 200, 200, 200]);
      while (waiting.length < stuck.length) await new Promise((resolve) => setTimeout(resolve, 10));
      for (const reject of waiting) reject(ApiError.unavailable('backend "down" is down'));
      const statuses = await Promise.all(stuck);
      assert.deepEqual(finished.slice(0, 5), ['probe', 'probe', 'probe', 'probe', 'probe']);
      assert.ok(
        statuses.every((code) => code === 504 || code === 503),
        `metric reads time out: ${new Set(statuses)}`,
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('an unknown group or version is a 404 Status naming it and what is served', async () => {
    const res = await request(app).get('/apis/custom.metrics.k8s.io/v9').expect(404);
    const status = JSON.parse(res.text);
    assert.equal(status.reason, 'NotFound');
    assert.match(status.message, /custom\.metrics\.k8s\.io\/v9 is not served/);
    assert.match(status.message, /external\.metrics\.k8s\.io\/v1beta1/);
  });
});
