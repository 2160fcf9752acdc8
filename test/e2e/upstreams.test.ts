import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adapterMetric } from '../support/adapter-client.js';
import { type AdapterProcess, startAdapter } from '../support/adapter-process.js';
import { type CertDir, createCertDir, issueServingCert, type TestCa } from '../support/certs.js';
import { type ClusterHarness, HPA_USER, startClusterHarness } from '../support/cluster-harness.js';
import { type KedaLikeServer, startKedaLikeServer } from '../support/keda-like-server.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../support/kube-apiserver-double.js';

/**
 * Our adapter in front, owning both APIServices; behind it a second adapter process (this project,
 * cluster mode, authenticating and authorizing us against its own kube-apiserver double) and a
 * KEDA-like server. Everything real but kube-apiserver: processes, TLS, kubectl.
 */

const FRONT_SA = 'system:serviceaccount:metrics:hpa-metrics-adapter';
const EXTERNAL = '/apis/external.metrics.k8s.io/v1beta1';

const UPSTREAM_ADAPTER_CONFIG = `
static:
  external:
    - metric: upstream-queue
      series: [{ labels: { queue: orders }, value: 7 }]
    - metric: queue-depth
      series: [{ value: 1000 }]
  custom:
    - metric: upstream_requests
      resource: pods
      objects: [{ namespace: shop, name: web-1, value: 3 }]
`;

let certs: CertDir;
let upstreamCa: TestCa;
let upstreamKube: KubeApiserverDouble;
let upstreamAdapter: AdapterProcess;
let keda: KedaLikeServer;
let front: ClusterHarness;
let tokenPath: string;

before(async () => {
  certs = await createCertDir('e2e-upstreams-');
  upstreamCa = await certs.createCa('upstreams-ca');
  tokenPath = join(certs.dir, 'front-token');
  await writeFile(tokenPath, 'front-token-1\n');

  upstreamKube = await startKubeApiserverDouble();
  upstreamKube.tokens.set('front-token-1', { username: FRONT_SA, groups: ['system:serviceaccounts'] });
  upstreamKube.allowRules.push(
    { user: FRONT_SA, group: 'external.metrics.k8s.io' },
    { user: FRONT_SA, group: 'custom.metrics.k8s.io' },
  );
  const serving = await issueServingCert(upstreamCa);
  const requestHeaderCa = await certs.createCa('upstream-front-proxy-ca');
  await writeFile(join(certs.dir, 'upstream.yaml'), UPSTREAM_ADAPTER_CONFIG);
  upstreamAdapter = await startAdapter({
    args: [
      '--secure-port=0',
      `--config=${join(certs.dir, 'upstream.yaml')}`,
      `--tls-cert-file=${serving.certPath}`,
      `--tls-private-key-file=${serving.keyPath}`,
      `--requestheader-client-ca-file=${requestHeaderCa.certPath}`,
      '--requestheader-allowed-names=front-proxy-client',
      `--kubeconfig=${upstreamKube.kubeconfigPath}`,
    ],
  });
  keda = await startKedaLikeServer(await issueServingCert(upstreamCa), ['front-token-1']);
  keda.values.set('s0-rabbitmq-orders', '17');

  front = await startClusterHarness({
    config: `
static:
  external:
    - metric: queue-depth
      series: [{ value: 42 }]
upstreams:
  - name: second-adapter
    url: ${upstreamAdapter.baseUrl}
    groupVersions: [external.metrics.k8s.io/v1beta1, custom.metrics.k8s.io/v1beta2, custom.metrics.k8s.io/v1beta1]
    caFile: ${upstreamCa.certPath}
    tokenFile: ${tokenPath}
    discoveryInterval: 1s
  - name: keda
    url: ${keda.url}
    groupVersions: [external.metrics.k8s.io/v1beta1]
    caFile: ${upstreamCa.certPath}
    tokenFile: ${tokenPath}
    timeout: 1s
    metrics: { announced: false, matching: ['s[0-9]+-.*'] }
`,
  });
  front.kube.tokens.set('alice-token', { username: 'alice' });
  front.kube.allowRules.push(
    { user: 'alice', group: 'external.metrics.k8s.io' },
    { user: 'alice', group: 'custom.metrics.k8s.io' },
  );
  // The first background discovery of the second adapter has run once its names are announced.
  for (let i = 0; i < 50; i++) {
    const list = await front.asAggregator(EXTERNAL);
    if (list.body.resources?.some((r: { name: string }) => r.name === 'upstream-queue')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await front?.close();
  await upstreamAdapter?.stop();
  await keda?.close();
  await upstreamKube?.close();
  await certs?.cleanup();
});

describe('discovery through the front', () => {
  it("kubectl api-resources is clean and lists ours and the upstreams' metrics, placeholders once", async (t) => {
    const result = await front.kubectl(
      ['api-resources', '--api-group=external.metrics.k8s.io', '-o', 'name'],
      'alice-token',
    );
    if (!result) return t.skip('kubectl is not installed: the discovery check through kubectl did not run');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const names = result.stdout.trim().split('\n').sort();
    assert.deepEqual(names, [
      'discovery-placeholder.external.metrics.k8s.io',
      'queue-depth.external.metrics.k8s.io',
      'upstream-queue.external.metrics.k8s.io',
    ]);
  });

  it("the custom group lists the second adapter's pods metric in both versions", async () => {
    for (const version of ['v1beta1', 'v1beta2']) {
      const list = await front.asAggregator(`/apis/custom.metrics.k8s.io/${version}`);
      assert.equal(list.status, 200);
      const names = list.body.resources.map((r: { name: string }) => r.name);
      assert.deepEqual(names, ['pods/upstream_requests', 'discovery-placeholder']);
    }
  });
});

describe('values through the front', () => {
  it('kubectl get --raw reads both upstreams and our own metric', async (t) => {
    const read = async (metric: string) => {
      const result = await front.kubectl(['get', '--raw', `${EXTERNAL}/namespaces/shop/${metric}`], 'alice-token');
      if (!result) return undefined;
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout).items[0].value as string;
    };
    const second = await read('upstream-queue');
    if (second === undefined) return t.skip('kubectl is not installed: values through kubectl were not read');
    assert.equal(second, '7');
    assert.equal(await read('s0-rabbitmq-orders'), '17');
    assert.equal(await read('queue-depth'), '42', 'a name both serve is ours');
  });

  it("answers the HPA's protobuf-accepting request with the upstream's JSON, labelled as JSON", async () => {
    const answer = await front.call(
      '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/web-1/upstream_requests',
      {
        cert: front.proxyClient,
        headers: {
          'X-Remote-User': HPA_USER,
          'X-Remote-Group': 'system:serviceaccounts',
          Accept: 'application/vnd.kubernetes.protobuf, */*',
        },
      },
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.kind, 'MetricValueList');
    assert.equal(answer.body.items[0].value, '3');
  });

  it('counts the collision once and forwards per upstream', async () => {
    const port = front.adapter.port;
    const ca = { ca: front.servingCa.cert, cert: { chain: front.proxyClient.chain, key: front.proxyClient.key } };
    assert.equal(
      await adapterMetric(port, 'hpa_metrics_adapter_upstream_collisions_total', { upstream: 'second-adapter' }, ca),
      1,
    );
    assert.ok(
      ((await adapterMetric(
        port,
        'hpa_metrics_adapter_upstream_requests_total',
        { upstream: 'keda', code: '200' },
        ca,
      )) ?? 0) >= 1,
    );
  });
});

describe('security', () => {
  it('a caller our SubjectAccessReview denies never reaches an upstream', async () => {
    const kedaBefore = keda.requests.length;
    const upstreamReviews = upstreamKube.subjectAccessReviews.length;
    for (const path of [
      `${EXTERNAL}/namespaces/shop/s0-rabbitmq-orders`,
      `${EXTERNAL}/namespaces/shop/upstream-queue`,
    ]) {
      const answer = await front.asAggregator(path, 'mallory');
      assert.equal(answer.status, 403);
      assert.match(answer.body.message, /mallory/);
    }
    assert.equal(keda.requests.length, kedaBefore);
    assert.equal(upstreamKube.subjectAccessReviews.length, upstreamReviews);
  });

  it("upstreams see our service account, never the caller's credentials or X-Remote-* headers", async () => {
    await front.asAggregator(`${EXTERNAL}/namespaces/shop/s0-rabbitmq-orders`, HPA_USER);
    const seen = keda.requests.at(-1);
    assert.equal(seen?.headers.authorization, 'Bearer front-token-1');
    assert.deepEqual(
      Object.keys(seen?.headers ?? {}).filter((h) => h.startsWith('x-remote')),
      [],
    );
    const users = new Set(upstreamKube.subjectAccessReviews.map((r) => r.user));
    assert.deepEqual([...users], [FRONT_SA], 'the second adapter authorized only us');
  });
});

describe('faults and rotation', () => {
  it('the token rotated on disk is used once the upstream refuses the old one', async () => {
    await writeFile(tokenPath, 'front-token-2\n');
    upstreamKube.tokens.delete('front-token-1');
    upstreamKube.tokens.set('front-token-2', { username: FRONT_SA, groups: ['system:serviceaccounts'] });
    keda.tokens.clear();
    keda.tokens.add('front-token-2');
    const second = await front.asAggregator(`${EXTERNAL}/namespaces/shop/upstream-queue`);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    const viaKeda = await front.asAggregator(`${EXTERNAL}/namespaces/shop/s0-rabbitmq-orders`);
    assert.equal(viaKeda.status, 200, JSON.stringify(viaKeda.body));
    assert.equal(keda.requests.at(-1)?.headers.authorization, 'Bearer front-token-2');
  });

  it("an unknown KEDA name comes back as KEDA's own Status", async () => {
    const answer = await front.asAggregator(`${EXTERNAL}/namespaces/shop/s3-unknown`);
    assert.equal(answer.status, 404);
    assert.equal(answer.body.message, 'unable to get metric s3-unknown: no ScaledObject in namespace shop uses it');
  });

  it('KEDA refusing us (403) comes back as its own Forbidden; garbage from it becomes a 503 naming it', async () => {
    const path = `${EXTERNAL}/namespaces/shop/s0-rabbitmq-orders`;
    keda.mode = 'forbidden';
    try {
      const refused = await front.asAggregator(path);
      assert.equal(refused.status, 403);
      assert.match(refused.body.message, /external metrics are forbidden to this user/);
      keda.mode = 'garbage';
      const garbage = await front.asAggregator(path);
      assert.equal(garbage.status, 503);
      assert.match(garbage.body.message, /upstream "keda" .*answered 502 with Content-Type "text\/html"/);
    } finally {
      keda.mode = 'ok';
    }
  });

  it('slow KEDA: 503 naming it within its timeout, while our own and the other upstream answer', async () => {
    // Far past the upstream's 1 s timeout: with 3 s, answering "before the upstream did" left
    // 1.9 s for three TLS reads through the front on a loaded machine.
    keda.delayMs = 10_000;
    try {
      const started = performance.now();
      const [slow, own, other] = await Promise.all([
        front.asAggregator(`${EXTERNAL}/namespaces/shop/s0-rabbitmq-orders`),
        front.asAggregator(`${EXTERNAL}/namespaces/shop/queue-depth`),
        front.asAggregator(`${EXTERNAL}/namespaces/shop/upstream-queue`),
      ]);
      assert.equal(slow.status, 503);
      assert.match(slow.body.message, /upstream "keda" .*did not answer within its timeout of 1000 ms/);
      assert.ok(performance.now() - started < 9_000, 'answered before the upstream did');
      assert.equal(own.status, 200);
      assert.equal(other.status, 200);
    } finally {
      keda.delayMs = 0;
    }
  });

  it('the second adapter down: kubectl shows a 503 naming it; discovery keeps its last good list', async (t) => {
    await upstreamAdapter.stop();
    const result = await front.kubectl(['get', '--raw', `${EXTERNAL}/namespaces/shop/upstream-queue`], 'alice-token');
    const list = await front.asAggregator(EXTERNAL);
    assert.ok(list.body.resources.some((r: { name: string }) => r.name === 'upstream-queue'));
    if (!result) return t.skip('kubectl is not installed: the 503 through kubectl was not checked');
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /Error from server \(ServiceUnavailable\): .*upstream "second-adapter" .*cannot be reached/,
    );
  });
});
