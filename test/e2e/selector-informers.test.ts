import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HPA_USER, startClusterHarness } from '../support/cluster-harness.js';
import { counter, startPrometheus } from '../support/prometheus-server.js';
import { setUpForFile, startedForFile } from '../support/started-for-file.js';

/**
 * The built adapter answering the HPA's Pods metric by label selector from watched pod metadata:
 * after the first request the kube-apiserver double sees one LIST and one WATCH, no LIST per
 * poll, and a relabelled pod shows up in the next answers.
 */

const CONFIG = `
prometheus:
  rules:
  - seriesQuery: '{__name__="http_requests_total",namespace!="",pod!=""}'
    resources:
      overrides:
        namespace: {resource: namespace}
        pod: {resource: pod}
    name: {matches: "^(.*)_total$", as: "\${1}_per_second"}
    metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
`;
const SELECTOR =
  '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/http_requests_per_second?labelSelector=app%3Dweb';
const pod = (name: string, app: string) => ({
  group: '',
  version: 'v1',
  resource: 'pods',
  namespace: 'shop',
  name,
  labels: { app },
});

const prometheus = startedForFile(
  () => {
    const now = Math.floor(Date.now() / 1000);
    const range = { end: now + 900, seconds: 2700 };
    return startPrometheus({
      series: ['web-1', 'web-2', 'web-3'].map((name, i) =>
        counter('http_requests_total', { namespace: 'shop', pod: name }, i + 1, range),
      ),
    });
  },
  (server) => server.stop(),
);
const cluster = startedForFile(() =>
  startClusterHarness({ config: CONFIG, extraArgs: [`--prometheus-url=${prometheus.url}`] }),
);

setUpForFile(() => {
  cluster.kube.watch.put(pod('web-1', 'web'));
  cluster.kube.watch.put(pod('web-2', 'web'));
  cluster.kube.watch.put(pod('web-3', 'db'));
});

async function podsOfWeb(): Promise<string[]> {
  const answer = await cluster.asAggregator(SELECTOR, HPA_USER, ['system:serviceaccounts', 'system:authenticated']);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.items.map((i: { describedObject: { name: string } }) => i.describedObject.name);
}

async function metricsText(): Promise<string> {
  const answer = await cluster.call('/metrics');
  assert.equal(answer.status, 200);
  return String(answer.body);
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Pods metric by label selector from watched metadata (the built adapter)', () => {
  it('lists once, then watches: no LIST per poll, and /metrics shows the informer serving', async () => {
    assert.deepEqual(await podsOfWeb(), ['web-1', 'web-2']);
    const metrics = await eventually(metricsText, (text) =>
      /hpa_metrics_adapter_informer_serving\{resource="pods",state="serving"\} 1/.test(text),
    );
    assert.match(metrics, /hpa_metrics_adapter_informer_serving\{resource="pods",state="serving"\} 1/);
    assert.match(metrics, /hpa_metrics_adapter_informer_objects\{resource="pods"\} 3/);
    assert.match(metrics, /hpa_metrics_adapter_informer_list_fallbacks_total\{resource="pods",reason="not_synced"\} 1/);
    const lists = cluster.kube.calls.objects;
    for (let i = 0; i < 10; i++) assert.deepEqual(await podsOfWeb(), ['web-1', 'web-2']);
    assert.equal(cluster.kube.calls.objects, lists, 'no LIST while the watch serves');
    assert.equal(cluster.kube.watch.openWatches, 2, 'the pods watch, and the HPA watch of HPA-aware refresh');
  });

  it('a relabelled pod joins the answer once its watch event arrives', async () => {
    cluster.kube.watch.put(pod('web-3', 'web'));
    const names = await eventually(podsOfWeb, (got) => got.length === 3);
    assert.deepEqual(names, ['web-1', 'web-2', 'web-3']);
    cluster.kube.watch.remove(pod('web-1', 'web'));
    assert.deepEqual(await eventually(podsOfWeb, (got) => got.length === 2), ['web-2', 'web-3']);
  });
});
