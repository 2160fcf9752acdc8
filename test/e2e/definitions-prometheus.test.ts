import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HPA_USER, startClusterHarness } from '../support/cluster-harness.js';
import { definitionObject } from '../support/definitions.js';
import { gauge, startPrometheus } from '../support/prometheus-server.js';
import { startRecordingProxy } from '../support/recording-proxy.js';
import { startedForFile } from '../support/started-for-file.js';

/**
 * MetricDefinitions against a real Prometheus holding the same series in two namespaces with
 * different values, through the built adapter watching the kube-apiserver double: team A's query
 * names no namespace and reads only A's series; a query naming team-b is refused and nothing of
 * it reaches Prometheus (every request is counted at a recording proxy); another namespace gets
 * 404; a deleted definition answers 404 again.
 */

const prometheus = startedForFile(
  () => {
    const now = Math.floor(Date.now() / 1000);
    const range = { end: now + 900, seconds: 2700 };
    return startPrometheus({
      series: [
        gauge('jobs_failed', { namespace: 'team-a', job: 'w' }, 3, range),
        gauge('jobs_failed', { namespace: 'team-b', job: 'w' }, 7, range),
      ],
    });
  },
  (server) => server.stop(),
);
const proxy = startedForFile(
  () => startRecordingProxy(prometheus.url),
  (p) => p.close(),
);
const cluster = startedForFile(() =>
  startClusterHarness({
    config: `
prometheus:
  url: ${proxy.url}
static:
  external:
  - metric: config-owned
    series: [{ value: 1 }]
definitions:
  enabled: true
  rules:
  - namespaces: ["team-*"]
    prometheus: { servers: ["*"] }
`,
  }),
);

const definition = definitionObject;

const external = (namespace: string, metric: string) =>
  cluster.asAggregator(`/apis/external.metrics.k8s.io/v1beta1/namespaces/${namespace}/${metric}`, HPA_USER, [
    'system:authenticated',
  ]);

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const queriesSent = () => proxy.requests.map((r) => r.params.get('query') ?? '').filter((q) => q !== '');

describe('MetricDefinitions on a real Prometheus (the built adapter)', () => {
  it("team A's query reads only team A's series, served within 5 s and listed in discovery", async () => {
    cluster.kube.watch.put(definition('team-a', 'failing', { prometheus: { query: 'sum(jobs_failed)' } }));
    const answer = await eventually(
      () => external('team-a', 'failing'),
      (a) => a.status === 200,
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(
      answer.body.items.map((i: { value: string }) => i.value),
      ['3'],
    );
    assert.ok(queriesSent().includes('sum(jobs_failed{namespace="team-a"})'), queriesSent().join('\n'));
    const discovery = await cluster.asAggregator('/apis/external.metrics.k8s.io/v1beta1', HPA_USER);
    assert.ok(discovery.body.resources.some((r: { name: string }) => r.name === 'failing'));
  });

  it('another namespace gets 404 for it', async () => {
    const answer = await external('team-b', 'failing');
    assert.equal(answer.status, 404, JSON.stringify(answer.body));
    assert.match(answer.body.message, /not defined in namespace "team-b"/);
  });

  it('a query naming namespace team-b is QueryInvalid: never served, nothing of it reaches Prometheus', async () => {
    cluster.kube.watch.put(
      definition('team-a', 'evil', { prometheus: { query: 'sum(jobs_failed{namespace="team-b"})' } }),
    );
    cluster.kube.watch.put(definition('team-a', 'marker', { prometheus: { query: 'count(jobs_failed)' } }));
    // The marker is served after the same rebuild that judged the bad one.
    assert.equal(
      (
        await eventually(
          () => external('team-a', 'marker'),
          (a) => a.status === 200,
        )
      ).status,
      200,
    );
    const answer = await external('team-a', 'evil');
    assert.equal(answer.status, 404, JSON.stringify(answer.body));
    assert.deepEqual(
      queriesSent().filter((q) => q.includes('team-b')),
      [],
    );
  });

  it('a name the config serves stays the config’s', async () => {
    cluster.kube.watch.put(definition('team-a', 'config-owned', { prometheus: { query: 'sum(jobs_failed)' } }));
    await new Promise((r) => setTimeout(r, 1000));
    const answer = await external('team-a', 'config-owned');
    assert.equal(answer.status, 200);
    assert.equal(answer.body.items[0].value, '1');
  });

  it('a deleted definition answers 404 within 5 s', async () => {
    cluster.kube.watch.remove(definitionObject('team-a', 'failing', {}));
    const answer = await eventually(
      () => external('team-a', 'failing'),
      (a) => a.status === 404,
    );
    assert.equal(answer.status, 404, JSON.stringify(answer.body));
  });
});
