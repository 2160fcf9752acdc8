import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IssuedCert } from '../support/certs.js';
import { HPA_USER, startClusterHarness } from '../support/cluster-harness.js';
import { setUpForFile, startedForFile } from '../support/started-for-file.js';

/** The built adapter as a cluster runs it: TLS, front-proxy authentication, delegated authz, kubectl. */

const CONFIG = `
static:
  external:
    - metric: queue-depth
      series:
        - { labels: { queue: jobs }, value: 42 }
        - { labels: { queue: mail }, value: 0.25 }
  custom:
    - metric: http_requests
      resource: pods
      objects:
        - { namespace: shop, name: web-1, labels: { app: web }, value: 12 }
`;

const cluster = startedForFile(() => startClusterHarness({ config: CONFIG }));
let strangerProxy: IssuedCert;

setUpForFile(async () => {
  strangerProxy = await (await cluster.certs.createCa('some-other-ca')).issue({ cn: 'front-proxy-client' });
  cluster.kube.tokens.set('alice-token', { username: 'alice', groups: ['oncall'] });
  cluster.kube.tokens.set('mallory-token', { username: 'mallory', groups: ['guests'] });
  cluster.kube.allowRules.push(
    { user: 'alice', group: 'custom.metrics.k8s.io' },
    { user: 'alice', group: 'external.metrics.k8s.io' },
  );
});

describe('as the aggregator calls it (front-proxy certificate + X-Remote-* headers)', () => {
  it('serves the HPA controller an external metric and authorizes it with a SubjectAccessReview', async () => {
    const answer = await cluster.asAggregator(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth?labelSelector=queue%3Djobs',
      HPA_USER,
      ['system:serviceaccounts', 'system:authenticated'],
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(
      answer.body.items.map((i: { value: string }) => i.value),
      ['42'],
    );
    const review = cluster.kube.subjectAccessReviews.at(-1);
    assert.equal(review?.user, HPA_USER);
    assert.deepEqual(review?.groups, ['system:serviceaccounts', 'system:authenticated']);
    assert.deepEqual(review?.resourceAttributes, {
      verb: 'list',
      group: 'external.metrics.k8s.io',
      version: 'v1beta1',
      resource: 'queue-depth',
      namespace: 'shop',
    });
  });

  it('serves a custom metric for a pod', async () => {
    const answer = await cluster.asAggregator(
      '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/web-1/http_requests',
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.items[0].value, '12');
  });

  it('answers 403 Status when the SubjectAccessReview denies the user', async () => {
    const answer = await cluster.asAggregator(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth',
      'mallory',
    );
    assert.equal(answer.status, 403);
    assert.equal(answer.body.kind, 'Status');
    assert.equal(answer.body.reason, 'Forbidden');
    assert.match(answer.body.message, /mallory/);
    assert.match(answer.body.message, /queue-depth/);
  });

  it('answers 401 Status without a client certificate, ignoring X-Remote-User', async () => {
    const answer = await cluster.call('/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth', {
      headers: { 'X-Remote-User': HPA_USER },
    });
    assert.equal(answer.status, 401);
    assert.equal(answer.body.reason, 'Unauthorized');
  });

  it('answers 401 Status to a proxy certificate from another CA', async () => {
    const answer = await cluster.call('/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth', {
      cert: strangerProxy,
      headers: { 'X-Remote-User': HPA_USER },
    });
    assert.equal(answer.status, 401);
  });

  it('keeps health, version and OpenAPI open without credentials', async () => {
    for (const path of ['/healthz', '/livez', '/readyz', '/version', '/openapi/v2']) {
      assert.equal((await cluster.call(path)).status, 200, path);
    }
  });
});

describe('kubectl get --raw, as on-call runs it', () => {
  it('shows the same JSON the HPA sees, authenticated by a bearer token (TokenReview)', async (t) => {
    const result = await cluster.kubectl(
      ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth?labelSelector=queue%3Dmail'],
      'alice-token',
    );
    if (!result) return t.skip('kubectl is not installed on this machine');
    assert.equal(result.code, 0, result.stderr);
    const body = JSON.parse(result.stdout);
    assert.equal(body.kind, 'ExternalMetricValueList');
    assert.deepEqual(
      body.items.map((i: { metricLabels: object; value: string }) => [i.metricLabels, i.value]),
      [[{ queue: 'mail' }, '250m']],
    );
    const discovery = await cluster.kubectl(['get', '--raw', '/apis/custom.metrics.k8s.io/v1beta2'], 'alice-token');
    assert.equal(discovery?.code, 0, discovery?.stderr);
    assert.deepEqual(
      JSON.parse(discovery?.stdout ?? '{}').resources.map((r: { name: string }) => r.name),
      ['pods/http_requests', 'discovery-placeholder'],
    );
  });

  it('prints the Status message of a failed request', async (t) => {
    const missing = await cluster.kubectl(
      ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth?labelSelector=queue%3Dnone'],
      'alice-token',
    );
    if (!missing) return t.skip('kubectl is not installed on this machine');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Error from server \(NotFound\): .*queue-depth.*queue=none/);

    const forbidden = await cluster.kubectl(
      ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth'],
      'mallory-token',
    );
    assert.match(forbidden?.stderr ?? '', /Error from server \(Forbidden\)/);

    const unauthorized = await cluster.kubectl(
      ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1'],
      'nobody-token',
    );
    assert.notEqual(unauthorized?.code, 0);
    assert.match(unauthorized?.stderr ?? '', /Unauthorized/);
  });
});
