import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseSelector } from '../../src/api/selector.js';
import { parseConfig } from '../../src/config/load.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import { silentLogger } from '../../src/observability/logger.js';
import { resourceRulesOf } from '../../src/providers/prometheus/config.js';
import { createResourceMetrics } from '../../src/resource-metrics/create.js';
import { passThroughCache } from '../support/backend-context.js';
import { type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';
import { clusterSeries, kubePrometheusConfig } from '../support/resource-metrics-cluster.js';

/**
 * resourceRules name the Prometheus server they query (`server:`, as a rule does), against two
 * real servers: the cluster's usage is on the second only.
 */

const deadline = deadlineOf(new AbortController().signal);

describe('resourceRules on one of several Prometheus servers', () => {
  let empty: PrometheusServer;
  let cluster: PrometheusServer;
  before(async () => {
    [empty, cluster] = await Promise.all([
      startPrometheus({ series: [] }),
      startPrometheus({ series: clusterSeries() }),
    ]);
  });
  after(async () => {
    await Promise.all([empty?.stop(), cluster?.stop()]);
  });

  async function readerFor(server: string | undefined) {
    const servers = `prometheus:\n  servers:\n  - {name: apps, url: "${empty.url}"}\n  - {name: cluster, url: "${cluster.url}"}\n`;
    const rules = (await kubePrometheusConfig()).replace(
      /^ {2}"window": "5m"$/m,
      `  "window": "5m"${server === undefined ? '' : `\n  "server": "${server}"`}`,
    );
    const config = parseConfig(servers + rules, 'test');
    const found = resourceRulesOf(config);
    assert.ok(found);
    const caches: string[] = [];
    const running = createResourceMetrics(config.prometheus, found, {
      cacheFor: (name) => {
        caches.push(name);
        return passThroughCache();
      },
      now: () => new Date(),
      logger: silentLogger(),
    });
    return { running, caches };
  }

  it('queries the server resourceRules.server names, through that server`s cache', async () => {
    const { running, caches } = await readerFor('cluster');
    try {
      const pods = await running.reader.pods({ namespace: 'shop', selector: parseSelector(''), deadline });
      assert.deepEqual(
        pods.map((p) => p.name).sort(),
        ['db-0', 'gone-1', 'web-1', 'web-2'],
        'standalone: the series name the pods',
      );
      assert.deepEqual(caches, ['prometheus:cluster']);
    } finally {
      running.close();
    }
  });

  it('queries the first server when resourceRules name none', async () => {
    const { running, caches } = await readerFor(undefined);
    try {
      const pods = await running.reader.pods({ namespace: 'shop', selector: parseSelector(''), deadline });
      assert.deepEqual(pods, [], 'the first server has no series');
      assert.deepEqual(caches, ['prometheus:apps']);
    } finally {
      running.close();
    }
  });

  it('refuses a server no entry of prometheus.servers names, naming the field', async () => {
    await assert.rejects(
      readerFor('thanos'),
      /field resourceRules\.server: no server is named "thanos" \(prometheus\.servers names apps, cluster\)/,
    );
  });
});
