import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AdapterProcess, startAdapter } from '../support/adapter-process.js';
import { type CertDir, createCertDir, type IssuedCert, issueServingCert, type TestCa } from '../support/certs.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../support/kube-apiserver-double.js';
import { findKubectl, runKubectl, writeUserKubeconfig } from '../support/kubectl.js';

/**
 * The built adapter as a process, the way a cluster runs it: TLS, front-proxy authentication
 * from kube-apiserver's aggregator, TokenReview and SubjectAccessReview against the
 * kube-apiserver double, and the real kubectl.
 */

const HPA_USER = 'system:serviceaccount:kube-system:horizontal-pod-autoscaler';
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

interface Answer {
  status: number;
  body: { kind?: string; code?: number; reason?: string; message?: string; items?: { value: string }[] };
}

let certs: CertDir;
let frontProxyCa: TestCa;
let proxyClient: IssuedCert;
let strangerProxy: IssuedCert;
let servingCa: TestCa;
let kube: KubeApiserverDouble;
let adapter: AdapterProcess;

function call(
  path: string,
  options: { cert?: IssuedCert; headers?: Record<string, string | string[]> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: adapter.port,
        path,
        ca: servingCa.cert,
        agent: false,
        headers: options.headers,
        ...(options.cert ? { cert: options.cert.chain, key: options.cert.key } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  certs = await createCertDir('e2e-aggregated-');
  frontProxyCa = await certs.createCa('front-proxy-ca');
  proxyClient = await frontProxyCa.issue({ cn: 'front-proxy-client' });
  strangerProxy = await (await certs.createCa('some-other-ca')).issue({ cn: 'front-proxy-client' });
  servingCa = await certs.createCa('adapter-serving-ca');
  const serving = await issueServingCert(servingCa);

  kube = await startKubeApiserverDouble();
  kube.tokens.set('alice-token', { username: 'alice', groups: ['oncall'] });
  kube.tokens.set('mallory-token', { username: 'mallory', groups: ['guests'] });
  kube.allowRules.push(
    { user: HPA_USER, verb: 'get', group: 'custom.metrics.k8s.io' },
    { user: HPA_USER, verb: 'list', group: 'external.metrics.k8s.io' },
    { user: 'alice', group: 'custom.metrics.k8s.io' },
    { user: 'alice', group: 'external.metrics.k8s.io' },
  );

  const configPath = join(certs.dir, 'config.yaml');
  await writeFile(configPath, CONFIG);
  adapter = await startAdapter({
    args: [
      '--secure-port=0',
      `--config=${configPath}`,
      `--tls-cert-file=${serving.certPath}`,
      `--tls-private-key-file=${serving.keyPath}`,
      `--requestheader-client-ca-file=${frontProxyCa.certPath}`,
      '--requestheader-allowed-names=front-proxy-client',
      `--kubeconfig=${kube.kubeconfigPath}`,
    ],
  });
});

after(async () => {
  await adapter?.stop();
  await kube?.close();
  await certs?.cleanup();
});

describe('as the aggregator calls it (front-proxy certificate + X-Remote-* headers)', () => {
  it('serves the HPA controller an external metric and authorizes it with a SubjectAccessReview', async () => {
    const reviewsBefore = kube.subjectAccessReviews.length;
    const answer = await call(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth?labelSelector=queue%3Djobs',
      {
        cert: proxyClient,
        headers: { 'X-Remote-User': HPA_USER, 'X-Remote-Group': ['system:serviceaccounts', 'system:authenticated'] },
      },
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(
      answer.body.items?.map((i) => i.value),
      ['42'],
    );
    const review = kube.subjectAccessReviews.at(-1);
    assert.ok(kube.subjectAccessReviews.length > reviewsBefore);
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
    const answer = await call('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/web-1/http_requests', {
      cert: proxyClient,
      headers: { 'X-Remote-User': HPA_USER },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.items?.[0]?.value, '12');
  });

  it('answers 403 Status when the SubjectAccessReview denies the user', async () => {
    const answer = await call('/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth', {
      cert: proxyClient,
      headers: { 'X-Remote-User': 'mallory' },
    });
    assert.equal(answer.status, 403);
    assert.equal(answer.body.kind, 'Status');
    assert.equal(answer.body.reason, 'Forbidden');
    assert.match(answer.body.message ?? '', /mallory/);
    assert.match(answer.body.message ?? '', /queue-depth/);
  });

  it('answers 401 Status without a client certificate, ignoring X-Remote-User', async () => {
    const answer = await call('/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth', {
      headers: { 'X-Remote-User': HPA_USER },
    });
    assert.equal(answer.status, 401);
    assert.equal(answer.body.reason, 'Unauthorized');
  });

  it('answers 401 Status to a proxy certificate from another CA', async () => {
    const answer = await call('/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth', {
      cert: strangerProxy,
      headers: { 'X-Remote-User': HPA_USER },
    });
    assert.equal(answer.status, 401);
  });

  it('keeps health, version and OpenAPI open without credentials', async () => {
    for (const path of ['/healthz', '/livez', '/readyz', '/version', '/openapi/v2']) {
      const status = await new Promise<number>((resolve, reject) => {
        httpsRequest({ host: '127.0.0.1', port: adapter.port, path, ca: servingCa.cert, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      assert.equal(status, 200, path);
    }
  });
});

describe('kubectl get --raw, as on-call runs it', () => {
  const kubectl = findKubectl();

  it('shows the same JSON the HPA sees, authenticated by a bearer token (TokenReview)', async (t) => {
    if (!kubectl) return t.skip('kubectl is not installed on this machine');
    const { path, home } = await writeUserKubeconfig(adapter.baseUrl, servingCa.certPath, 'alice-token');
    const result = await runKubectl(
      kubectl,
      path,
      ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth?labelSelector=queue%3Dmail'],
      home,
    );
    assert.equal(result.code, 0, result.stderr);
    const body = JSON.parse(result.stdout);
    assert.equal(body.kind, 'ExternalMetricValueList');
    assert.deepEqual(
      body.items.map((i: { metricLabels: object; value: string }) => [i.metricLabels, i.value]),
      [[{ queue: 'mail' }, '250m']],
    );

    const discovery = await runKubectl(kubectl, path, ['get', '--raw', '/apis/custom.metrics.k8s.io/v1beta2'], home);
    assert.equal(discovery.code, 0, discovery.stderr);
    assert.deepEqual(
      JSON.parse(discovery.stdout).resources.map((r: { name: string }) => r.name),
      ['pods/http_requests'],
    );
  });

  it('prints the Status message of a failed request', async (t) => {
    if (!kubectl) return t.skip('kubectl is not installed on this machine');
    const { path, home } = await writeUserKubeconfig(adapter.baseUrl, servingCa.certPath, 'alice-token');
    const missing = await runKubectl(
      kubectl,
      path,
      ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth?labelSelector=queue%3Dnone'],
      home,
    );
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Error from server \(NotFound\): .*queue-depth.*queue=none/);

    const denied = await writeUserKubeconfig(adapter.baseUrl, servingCa.certPath, 'mallory-token');
    const forbidden = await runKubectl(
      kubectl,
      denied.path,
      ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth'],
      denied.home,
    );
    assert.match(forbidden.stderr, /Error from server \(Forbidden\)/);

    const unknownToken = await writeUserKubeconfig(adapter.baseUrl, servingCa.certPath, 'nobody-token');
    const unauthorized = await runKubectl(
      kubectl,
      unknownToken.path,
      ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1'],
      unknownToken.home,
    );
    assert.notEqual(unauthorized.code, 0);
    assert.match(unauthorized.stderr, /Unauthorized/);
  });
});
