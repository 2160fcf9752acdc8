import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parseSelector } from '../../src/api/selector.js';
import { parseConfig } from '../../src/config/load.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startBackends } from '../../src/startup/backends.js';
import { alignedQueryTime, gauge, type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';

/**
 * A reload while a Prometheus server is down keeps that server's metrics announced and answered
 * from the cache, as a failed relist does: the new config's backend starts from the last good
 * series the running one had, so an unrelated ConfigMap edit during an outage does not turn the
 * server's HPAs' metrics into 404s.
 */
describe('a reload while a server is down', () => {
  let up: PrometheusServer;
  let down: PrometheusServer;

  before(async () => {
    // Set up here, not where the file is loaded: the compiled unit files load all at once, minutes
    // before this one's tests run (scripts/test.sh), and the queries look back only 5 minutes.
    const range = { end: alignedQueryTime(), seconds: 600 };
    up = await startPrometheus({ series: [gauge('jobs_waiting', { queue: 'a', namespace: 'default' }, 1, range)] });
    down = await startPrometheus({ series: [gauge('jobs_waiting', { queue: 'a', namespace: 'default' }, 2, range)] });
  });
  after(async () => {
    await up?.stop();
    await down?.stop();
  });

  const yaml = (comment: string, downUrl = down.url) => `# ${comment}
prometheus:
  servers:
  - name: main
    url: ${up.url}
  - name: thanos
    url: ${downUrl}
  externalRules:
  - seriesQuery: '{__name__="jobs_waiting"}'
    name: { as: main_jobs }
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
  - seriesQuery: '{__name__="jobs_waiting"}'
    server: thanos
    name: { as: thanos_jobs }
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`;

  it("keeps the down server's metrics announced and its cached values served; a server at another URL starts afresh", async () => {
    const running = await startBackends(parseConfig(yaml('first'), 't'), {
      flags: { metricsMaxAgeMs: 3600_000 },
      logger: silentLogger(),
      registry: new Registry(),
    });
    const served = () => running.router.listExternalMetrics().map((m) => m.metric);
    const ask = async (metric: string) =>
      (
        await running.router.getExternalMetric({
          metric,
          namespace: 'default',
          metricSelector: parseSelector(''),
          deadline: deadlineOf(AbortSignal.timeout(5000)),
        })
      )[0]?.value;
    try {
      assert.deepEqual(served(), ['main_jobs', 'thanos_jobs']);
      assert.equal(await ask('thanos_jobs'), 2);
      await down.pause();
      await running.apply(parseConfig(yaml('an unrelated edit'), 't'));
      assert.deepEqual(served(), ['main_jobs', 'thanos_jobs'], "the down server's metric stays announced");
      assert.equal(await ask('thanos_jobs'), 2, 'its cached value is served within ttl + maxStale');
      assert.equal(await ask('main_jobs'), 1);
      await running.apply(parseConfig(yaml('thanos moved', 'http://127.0.0.1:9'), 't'));
      assert.deepEqual(served(), ['main_jobs'], 'series found at another URL are not carried over');
    } finally {
      await running.close();
      await down.restart();
    }
  });
});
