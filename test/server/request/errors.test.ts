import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { assertStatusAnswer, buildTestApp } from '../../support/app.js';

const { app } = buildTestApp();
const CUSTOM = '/apis/custom.metrics.k8s.io/v1beta2';
const EXTERNAL = '/apis/external.metrics.k8s.io/v1beta1';

interface Case {
  name: string;
  path: string;
  code: number;
  reason: string;
  message?: RegExp;
  method?: 'post' | 'delete' | 'put';
}

const cases: Case[] = [
  { name: 'unknown API group', path: '/apis/metrics.example.com/v1', code: 404, reason: 'NotFound' },
  {
    name: 'unknown custom version',
    path: '/apis/custom.metrics.k8s.io/v9/namespaces/default/pods/a/m',
    code: 404,
    reason: 'NotFound',
  },
  {
    name: 'unknown external version',
    path: '/apis/external.metrics.k8s.io/v1beta2/namespaces/default/m',
    code: 404,
    reason: 'NotFound',
  },
  { name: 'discovery of an unserved version', path: '/apis/external.metrics.k8s.io/v2', code: 404, reason: 'NotFound' },
  { name: 'custom path too short', path: `${CUSTOM}/pods/web-1`, code: 404, reason: 'NotFound' },
  {
    name: 'custom path too long',
    path: `${CUSTOM}/namespaces/default/pods/web-1/m/extra`,
    code: 404,
    reason: 'NotFound',
  },
  {
    name: 'four segments that are not namespaces/x/metrics/m',
    path: `${CUSTOM}/namespaces/default/pods/m`,
    code: 404,
    reason: 'NotFound',
  },
  { name: 'external path without namespace', path: `${EXTERNAL}/queue-depth`, code: 404, reason: 'NotFound' },
  {
    name: 'external path too long',
    path: `${EXTERNAL}/namespaces/default/queue-depth/x`,
    code: 404,
    reason: 'NotFound',
  },
  { name: 'a path outside the API', path: '/wp-admin/index.php', code: 404, reason: 'NotFound' },
  {
    name: 'malformed percent-encoding',
    path: `${CUSTOM}/namespaces/default/pods/%E0%A4%A/m`,
    code: 400,
    reason: 'BadRequest',
    message: /malformed percent-encoding in path/,
  },
  {
    name: 'encoded slash in an object name',
    path: `${CUSTOM}/namespaces/default/pods/a%2Fb/m`,
    code: 400,
    reason: 'BadRequest',
    message: /object name/,
  },
  {
    name: 'upper-case namespace',
    path: `${CUSTOM}/namespaces/Default/pods/a/m`,
    code: 400,
    reason: 'BadRequest',
    message: /namespace "Default"/,
  },
  {
    name: 'namespace longer than 63',
    path: `${CUSTOM}/namespaces/${'a'.repeat(64)}/pods/a/m`,
    code: 400,
    reason: 'BadRequest',
  },
  {
    name: 'object name longer than 253',
    path: `${CUSTOM}/namespaces/default/pods/${'a'.repeat(254)}/m`,
    code: 400,
    reason: 'BadRequest',
  },
  {
    name: 'invalid resource',
    path: `${CUSTOM}/namespaces/default/po$ds/a/m`,
    code: 400,
    reason: 'BadRequest',
    message: /resource/,
  },
  {
    name: 'invalid metric name',
    path: `${EXTERNAL}/namespaces/default/${encodeURIComponent('m{x}')}`,
    code: 400,
    reason: 'BadRequest',
    message: /metric name/,
  },
  {
    name: 'unparseable labelSelector',
    path: `${CUSTOM}/namespaces/default/pods/*/http_requests?labelSelector=app%20in%20(web`,
    code: 400,
    reason: 'BadRequest',
    message: /invalid labelSelector: .*"app in \(web"/,
  },
  {
    name: 'invalid label key',
    path: `${EXTERNAL}/namespaces/default/queue-depth?labelSelector=-bad%3Dx`,
    code: 400,
    reason: 'BadRequest',
    message: /labelSelector/,
  },
  {
    name: 'unparseable metricLabelSelector',
    path: `${CUSTOM}/namespaces/default/pods/web-1/http_requests?metricLabelSelector=a%3D%3D%3Db`,
    code: 400,
    reason: 'BadRequest',
    message: /metricLabelSelector/,
  },
  {
    name: 'labelSelector given twice',
    path: `${EXTERNAL}/namespaces/default/queue-depth?labelSelector=a%3Db&labelSelector=c%3Dd`,
    code: 400,
    reason: 'BadRequest',
    message: /more than once/,
  },
  {
    name: 'fieldSelector on another field',
    path: `${CUSTOM}/namespaces/default/pods/web-1/http_requests?fieldSelector=status.phase%3DRunning`,
    code: 400,
    reason: 'BadRequest',
    message: /metadata\.name/,
  },
  {
    name: 'selector over the length limit',
    path: `${EXTERNAL}/namespaces/default/queue-depth?labelSelector=${'a'.repeat(5000)}`,
    code: 400,
    reason: 'BadRequest',
  },
  {
    name: 'URL over 8 KiB',
    path: `${EXTERNAL}/namespaces/default/queue-depth?x=${'a'.repeat(9000)}`,
    code: 400,
    reason: 'BadRequest',
    message: /longer than/,
  },
  {
    name: 'a write method',
    path: `${EXTERNAL}/namespaces/default/queue-depth`,
    method: 'post',
    code: 405,
    reason: 'MethodNotAllowed',
    message: /read-only/,
  },
  { name: 'DELETE on discovery', path: '/apis', method: 'delete', code: 405, reason: 'MethodNotAllowed' },
];

describe('bad input is answered with a Kubernetes Status, never a 5xx', () => {
  for (const c of cases) {
    it(`${c.name} → ${c.code} ${c.reason}`, async () => {
      const res = await request(app)[c.method ?? 'get'](c.path);
      assertStatusAnswer(res, c.code, c.reason);
      if (c.message) assert.match(res.body.message, c.message);
    });
  }

  it('survives a flood of distinct malformed requests and still serves', async () => {
    for (let i = 0; i < 300; i++) {
      const res = await request(app).get(
        `${EXTERNAL}/namespaces/default/q${i}?labelSelector=${'!'.repeat(i % 7)}x${i}%3D(`,
      );
      assert.ok(res.status >= 400 && res.status < 500, `request ${i} got ${res.status}`);
    }
    const ok = await request(app).get(`${EXTERNAL}/namespaces/default/queue-depth`);
    assert.equal(ok.status, 200);
  });
});
