import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startClusterHarness } from '../support/cluster-harness.js';
import { startedForFile } from '../support/started-for-file.js';

/**
 * kube-apiserver unreachable (a control-plane upgrade, a network policy gone wrong) while the
 * aggregator still reaches the adapter: SubjectAccessReview decisions already cached keep
 * serving for their TTL, new ones fail as 503 (retryable, not a denial), health stays green so
 * the kubelet neither restarts nor unroutes the pod, and everything works again once it is back.
 */

/** How long an allowed decision is cached (kube's --authorization-webhook-cache-authorized-ttl default, and src's). */
const ALLOWED_TTL_MS = 10_000;

const CONFIG = `
static:
  external:
    - metric: queue-depth
      series:
        - { labels: { queue: jobs }, value: 42 }
  custom:
    - metric: http_requests
      resource: pods
      objects:
        - { namespace: shop, name: web-1, labels: { app: web }, value: 12 }
`;

const QUEUE_DEPTH = '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth?labelSelector=queue%3Djobs';
const POD_REQUESTS = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/web-1/http_requests';

const cluster = startedForFile(() => startClusterHarness({ config: CONFIG }));

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

describe('Kubernetes API down', () => {
  it('keeps cached authorizations for their TTL, then answers 503, with health green throughout', async (t) => {
    const askedAt = Date.now();
    const first = await cluster.asAggregator(QUEUE_DEPTH);
    const answeredAt = Date.now();
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.items[0].value, '42');
    const reviews = cluster.kube.calls.subjectaccessreviews;
    assert.ok(reviews >= 1, 'the first read was authorized by a SubjectAccessReview');

    await cluster.kube.setDown(true);

    const cached = await cluster.asAggregator(QUEUE_DEPTH);
    assert.equal(cached.status, 200, 'a decision cached before the outage still serves');
    assert.equal(cached.body.items[0].value, '42');

    const uncached = await cluster.asAggregator(POD_REQUESTS);
    assert.equal(uncached.status, 503, JSON.stringify(uncached.body));
    assert.equal(uncached.body.kind, 'Status');
    assert.equal(uncached.body.reason, 'ServiceUnavailable');
    assert.match(uncached.body.message, /cannot authorize the request: SubjectAccessReview failed/);
    // What happened, not how long it took: the refused connection failed it, not a wait for the deadline.
    assert.doesNotMatch(uncached.body.message, /timed out/);

    for (const path of ['/healthz', '/livez', '/readyz']) {
      assert.equal((await cluster.call(path)).status, 200, `${path} does not depend on the API server`);
    }

    await sleepUntil(askedAt + ALLOWED_TTL_MS - 1500);
    assert.equal((await cluster.asAggregator(QUEUE_DEPTH)).status, 200, 'still within the TTL');

    await sleepUntil(answeredAt + ALLOWED_TTL_MS + 500);
    const expired = await cluster.asAggregator(QUEUE_DEPTH);
    assert.equal(expired.status, 503, `after the TTL: ${JSON.stringify(expired.body)}`);
    assert.match(expired.body.message, /SubjectAccessReview failed/);
    assert.equal((await cluster.call('/readyz')).status, 200);
    assert.equal(cluster.adapter.child.exitCode, null, 'the process is alive');
    assert.equal(cluster.kube.calls.subjectaccessreviews, reviews, 'nothing reached the API server while it was down');

    await cluster.kube.setDown(false);
    const back = await cluster.asAggregator(QUEUE_DEPTH);
    assert.equal(back.status, 200, `once the API server is back: ${JSON.stringify(back.body)}`);
    assert.equal((await cluster.asAggregator(POD_REQUESTS)).status, 200);
    assert.ok(cluster.kube.calls.subjectaccessreviews > reviews);
    t.diagnostic('uncached request during the outage: 503; health 200 throughout');
  });
});
