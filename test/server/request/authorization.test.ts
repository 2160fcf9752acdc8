import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { ApiError } from '../../../src/api/errors.js';
import type { ResourceAttributes } from '../../../src/kube/types.js';
import type { AuthSetup, UserInfo } from '../../../src/server/auth/types.js';
import { authorizationAttributes } from '../../../src/server/request/authorization-attributes.js';
import { buildTestApp } from '../../support/app.js';

describe('SubjectAccessReview attributes follow kube-apiserver RequestInfo', () => {
  const cases: [string, string, string[], ResourceAttributes][] = [
    [
      'namespaced object by name',
      'custom.metrics.k8s.io',
      ['namespaces', 'default', 'pods', 'web-1', 'http_requests'],
      {
        verb: 'get',
        group: 'custom.metrics.k8s.io',
        version: 'v1beta2',
        resource: 'pods',
        name: 'web-1',
        subresource: 'http_requests',
        namespace: 'default',
      },
    ],
    [
      'objects by selector',
      'custom.metrics.k8s.io',
      ['namespaces', 'default', 'deployments.apps', '*', 'lag'],
      {
        verb: 'get',
        group: 'custom.metrics.k8s.io',
        version: 'v1beta2',
        resource: 'deployments.apps',
        name: '*',
        subresource: 'lag',
        namespace: 'default',
      },
    ],
    [
      'root-scoped object',
      'custom.metrics.k8s.io',
      ['nodes', 'node-a', 'pressure'],
      {
        verb: 'get',
        group: 'custom.metrics.k8s.io',
        version: 'v1beta2',
        resource: 'nodes',
        name: 'node-a',
        subresource: 'pressure',
      },
    ],
    [
      'the namespace metric',
      'custom.metrics.k8s.io',
      ['namespaces', 'default', 'metrics', 'budget'],
      {
        verb: 'get',
        group: 'custom.metrics.k8s.io',
        version: 'v1beta2',
        resource: 'metrics',
        name: 'budget',
        namespace: 'default',
      },
    ],
    [
      'external metric',
      'external.metrics.k8s.io',
      ['namespaces', 'team-a', 'queue-depth'],
      {
        verb: 'list',
        group: 'external.metrics.k8s.io',
        version: 'v1beta2',
        resource: 'queue-depth',
        namespace: 'team-a',
      },
    ],
  ];
  for (const [name, group, segments, expected] of cases) {
    it(name, () => {
      assert.deepEqual(authorizationAttributes(group, 'v1beta2', segments), expected);
    });
  }
});

describe('the app authenticates, then authorizes every metrics read', () => {
  const user: UserInfo = {
    name: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler',
    groups: ['system:serviceaccounts'],
    extra: {},
  };
  const seen: ResourceAttributes[] = [];
  const auth: AuthSetup = {
    authenticator: {
      async authenticate(req) {
        if (req.headers.authorization !== 'Bearer good') throw ApiError.unauthorized('Unauthorized: token rejected');
        return user;
      },
    },
    authorizer: {
      async authorize(who, attributes) {
        assert.equal(who, user);
        seen.push(attributes);
        if (attributes.namespace === 'secret')
          throw ApiError.forbidden(`forbidden in namespace ${attributes.namespace}`);
      },
    },
    alwaysAllowPaths: ['/healthz', '/livez', '/readyz', '/openapi/*'],
    clientCaPem: [],
    close() {},
  };
  const { app } = buildTestApp({ auth });

  it('answers 401 Status without credentials, and health stays open', async () => {
    const res = await request(app)
      .get('/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue-depth')
      .expect(401);
    assert.equal(res.body.reason, 'Unauthorized');
    await request(app).get('/readyz').expect(200);
    await request(app).get('/openapi/v2').expect(200);
  });

  it('passes the request attributes to the authorizer and serves when allowed', async () => {
    seen.length = 0;
    await request(app)
      .get('/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web-1/http_requests')
      .set('Authorization', 'Bearer good')
      .expect(200);
    assert.deepEqual(seen, [
      {
        verb: 'get',
        group: 'custom.metrics.k8s.io',
        version: 'v1beta1',
        resource: 'pods',
        name: 'web-1',
        subresource: 'http_requests',
        namespace: 'default',
      },
    ]);
  });

  it('answers 403 Status when the authorizer denies, before touching the backend', async () => {
    const res = await request(app)
      .get('/apis/external.metrics.k8s.io/v1beta1/namespaces/secret/queue-depth')
      .set('Authorization', 'Bearer good')
      .expect(403);
    assert.equal(res.body.reason, 'Forbidden');
    assert.match(res.body.message, /secret/);
  });
});

describe('a remembered URL is still authenticated and authorized on every request', () => {
  const users: Record<string, UserInfo> = {
    'Bearer hpa': { name: 'hpa', groups: [], extra: {} },
    'Bearer intruder': { name: 'intruder', groups: [], extra: {} },
  };
  let decisions = 0;
  const auth: AuthSetup = {
    authenticator: {
      async authenticate(req) {
        const user = users[String(req.headers.authorization)];
        if (!user) throw ApiError.unauthorized('Unauthorized: token rejected');
        return user;
      },
    },
    authorizer: {
      async authorize(who) {
        decisions++;
        if (who.name !== 'hpa') throw ApiError.forbidden(`${who.name} may not read metrics`);
      },
    },
    alwaysAllowPaths: [],
    clientCaPem: [],
    close() {},
  };
  const { app } = buildTestApp({ auth });
  const url = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue-depth?labelSelector=queue%3Djobs';

  it('answers the allowed user, then refuses another user and an anonymous caller the same URL', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await request(app).get(url).set('Authorization', 'Bearer hpa').expect(200);
      assert.equal(res.body.items[0].value, '42');
    }
    const denied = await request(app).get(url).set('Authorization', 'Bearer intruder').expect(403);
    assert.match(denied.body.message, /intruder may not read metrics/);
    await request(app).get(url).expect(401);
    assert.equal(decisions, 4, 'one authorization decision per authenticated request');
  });
});
