import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { ApiError } from '../../../src/api/errors.js';
import type { ResourceAttributes } from '../../../src/kube/types.js';
import { percentDecoded } from '../../../src/lib/text.js';
import type { AuthSetup, UserInfo } from '../../../src/server/auth/types.js';
import { assertStatusAnswer, buildTestApp } from '../../support/app.js';

const user: UserInfo = { name: 'hpa', groups: [], extra: {} };

/** An app whose authenticator and authorizer record that they were asked. */
function appWithAuth() {
  const asked = { authentications: 0, authorized: [] as ResourceAttributes[] };
  const auth: AuthSetup = {
    authenticator: {
      async authenticate(req) {
        asked.authentications++;
        if (req.headers.authorization !== 'Bearer hpa') throw ApiError.unauthorized('Unauthorized: token rejected');
        return user;
      },
    },
    authorizer: {
      async authorize(_who, attributes) {
        asked.authorized.push(attributes);
      },
    },
    alwaysAllowPaths: [],
    clientCaPem: [],
    close() {},
  };
  return { app: buildTestApp({ auth }).app, asked };
}

const CUSTOM = '/apis/custom.metrics.k8s.io/v1beta2';
const EXTERNAL = '/apis/external.metrics.k8s.io/v1beta1';

describe('a malformed percent-escape in the path is a 400 Status before authentication', () => {
  // kube-apiserver's Go HTTP server fails such a request line in url.ParseRequestURI, before any
  // handler (authentication included) runs; so do we, but with a Status body the clients decode.
  const shapes: [string, string][] = [
    ['custom metric of one object by name', `${CUSTOM}/namespaces/default/pods/web%zz1/http_requests`],
    ['custom metric of a root-scoped object', `${CUSTOM}/nodes/node-a/pressure%E0%A4`],
    ['custom metric by selector', `${CUSTOM}/namespaces/default/pods/*/http_requests%?labelSelector=app%3Dweb`],
    ['the namespace metric', `${CUSTOM}/namespaces/def%zzault/metrics/budget`],
    ['external metric', `${EXTERNAL}/namespaces/default/queue%zz-depth?labelSelector=queue%3Djobs`],
    ['discovery of a group-version', '/apis/custom.metrics.k8s.io/v1beta%zz2'],
    ['discovery of a group', '/apis/custom.metrics%zz.k8s.io'],
    ['a path past a version nobody serves', '/apis/%E0%A4%A/v1/x/y'],
  ];
  for (const [shape, path] of shapes) {
    it(shape, async () => {
      const { app, asked } = appWithAuth();
      const res = await request(app).get(path);
      assertStatusAnswer(res, 400, 'BadRequest');
      assert.match(res.body.message, /^malformed percent-encoding in path \/apis\//);
      assert.equal(asked.authentications, 0, 'refused before authentication');
      assert.deepEqual(asked.authorized, []);
    });
  }

  it('clips a long malformed path in the message', async () => {
    const { app } = appWithAuth();
    const res = await request(app)
      .get(`${EXTERNAL}/namespaces/default/${'a'.repeat(3000)}%zz`)
      .expect(400);
    assert.ok(res.body.message.length < 300, `message of ${res.body.message.length} characters`);
  });
});

describe('only a malformed path is answered before authentication', () => {
  for (const path of [
    '/apis/metrics.example.com/v1/namespaces/default/m',
    `${CUSTOM}/pods`,
    '/apis/nobody.example.com',
  ]) {
    it(`${path}: 401 without credentials, 404 with them`, async () => {
      const { app, asked } = appWithAuth();
      assertStatusAnswer(await request(app).get(path), 401, 'Unauthorized');
      assertStatusAnswer(await request(app).get(path).set('Authorization', 'Bearer hpa'), 404, 'NotFound');
      assert.equal(asked.authentications, 2);
    });
  }
});

describe('path segments are decoded once, and every layer sees the decoded names', () => {
  it('authorizes and reads an object named with escapes as the decoded name', async () => {
    const { app, asked } = appWithAuth();
    const res = await request(app)
      .get(`${CUSTOM}/namespaces/default/pods/web%2D1/http_%72equests`)
      .set('Authorization', 'Bearer hpa')
      .expect(200);
    assert.equal(res.body.items[0].describedObject.name, 'web-1');
    assert.equal(res.body.items[0].metric.name, 'http_requests');
    assert.deepEqual(
      asked.authorized.map((a) => [a.resource, a.name, a.subresource]),
      [['pods', 'web-1', 'http_requests']],
    );
  });

  it('an escaped * selects by labelSelector, as kube-apiserver decodes it', async () => {
    const { app, asked } = appWithAuth();
    const res = await request(app)
      .get(`${CUSTOM}/namespaces/default/pods/%2A/http_requests?labelSelector=tier%3Dfront`)
      .set('Authorization', 'Bearer hpa')
      .expect(200);
    assert.deepEqual(
      res.body.items.map((item: { describedObject: { name: string } }) => item.describedObject.name),
      ['web-1'],
    );
    assert.equal(asked.authorized[0]?.name, '*');
  });

  it('an escaped group and version in discovery name the group-version', async () => {
    const { app } = appWithAuth();
    const res = await request(app)
      .get('/apis/external.metrics.k8s.io/v1%62eta1')
      .set('Authorization', 'Bearer hpa')
      .expect(200);
    assert.equal(res.body.groupVersion, 'external.metrics.k8s.io/v1beta1');
  });

  it('an encoded slash stays inside its segment and fails the name check there', async () => {
    const { app, asked } = appWithAuth();
    const res = await request(app)
      .get(`${CUSTOM}/namespaces/default/pods/web-1%2Fx/http_requests`)
      .set('Authorization', 'Bearer hpa')
      .expect(400);
    assert.match(res.body.message, /invalid object name "web-1\/x"/);
    assert.equal(asked.authorized[0]?.name, 'web-1/x', 'authorized under the name the parser refuses');
  });
});

describe('percentDecoded', () => {
  it('decodes UTF-8 escapes and leaves text without escapes as it is', () => {
    assert.equal(percentDecoded('web%2D1'), 'web-1');
    assert.equal(percentDecoded('caf%C3%A9'), 'café');
    assert.equal(percentDecoded('plain+text'), 'plain+text', 'a + is not a space in a path');
  });

  it('is undefined for a malformed escape or bytes that are not UTF-8', () => {
    for (const text of ['%zz', 'a%', 'a%2', '%E0%A4', '%ff']) assert.equal(percentDecoded(text), undefined, text);
  });
});
