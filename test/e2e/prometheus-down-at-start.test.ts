import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/adapter-client.js';
import { type ClusterHarness, startClusterHarness } from '../support/cluster-harness.js';
import { gauge, type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';

/**
 * Prometheus is down when the adapter starts, so series discovery has never succeeded: a metric
 * its rules would announce is not "not served" — nobody can know yet. The HPA and on-call (real
 * kubectl) get a 503 naming the server and its error, not a 404 that sends them to the rules;
 * when Prometheus comes up, the retry discovers the series and the metric is served.
 */

let prometheus: PrometheusServer;
let cluster: ClusterHarness;
const JOBS_WAITING = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/jobs_waiting?labelSelector=queue%3Djobs';

before(async () => {
  const now = Math.floor(Date.now() / 1000);
  prometheus = await startPrometheus({
    series: [gauge('jobs_waiting', { namespace: 'default', queue: 'jobs' }, 42, { end: now + 900, seconds: 2700 })],
  });
  await prometheus.pause();
  cluster = await startClusterHarness({
    config: `
prometheus:
  url: ${prometheus.url}
  externalRules:
  - seriesQuery: '{__name__="jobs_waiting",queue!=""}'
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`,
  });
  cluster.kube.tokens.set('oncall-token', { username: 'oncall', groups: ['sre'] });
  cluster.kube.allowRules.push({ user: 'oncall', group: 'external.metrics.k8s.io' });
});

after(async () => {
  await cluster?.close();
  await prometheus?.stop();
});

describe('a Prometheus that is down when the adapter starts', () => {
  const cause = () =>
    new RegExp(
      `discovery has never succeeded for prometheus server "default" \\(${prometheus.url.replace(/\./g, '\\.')}\\): .*ECONNREFUSED`,
    );

  it('answers 503 naming the server and its discovery error, not 404', async () => {
    const answer = await cluster.asAggregator(JOBS_WAITING);
    assert.equal(answer.status, 503, JSON.stringify(answer.body));
    assert.equal(answer.body.reason, 'ServiceUnavailable');
    assert.match(answer.body.message, /^external metric "jobs_waiting" is unknown while /);
    assert.match(answer.body.message, cause());
  });

  it('kubectl get --raw says the same', async (t) => {
    const result = await cluster.kubectl(['get', '--raw', JOBS_WAITING], 'oncall-token');
    if (!result) return t.skip('kubectl is not installed on this machine');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Error from server \(ServiceUnavailable\): external metric "jobs_waiting"/);
    assert.match(result.stderr, cause());
  });

  it('serves the metric once Prometheus is up; then an unknown name is 404 again', async () => {
    await prometheus.restart();
    // A failed relist is retried within 5 s.
    const served = await eventually(
      'the metric served',
      async () => {
        const answer = await cluster.asAggregator(JOBS_WAITING);
        return answer.status === 200 ? answer : undefined;
      },
      20_000,
      250,
    );
    assert.equal(served.body.items[0].value, '42');
    const unknown = await cluster.asAggregator(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/nobody_serves',
    );
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.match(unknown.body.message, /is not served by any configured backend/);
  });
});
