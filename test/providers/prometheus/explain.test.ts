import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { explain } from '../../support/explain.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../../support/kube-apiserver-double.js';
import { alignedQueryTime, type PrometheusServer, startPrometheus } from '../../support/prometheus-server.js';
import { CLUSTER_RULES, clusterSeries } from './fixtures.js';

const T = alignedQueryTime();

describe('hpa-metrics-adapter explain', () => {
  let prometheus: PrometheusServer;
  let dir: string;
  let configPath: string;
  let common: string[];

  before(async () => {
    prometheus = await startPrometheus({ series: clusterSeries(T) });
    dir = await mkdtemp(join(tmpdir(), 'explain-'));
    configPath = join(dir, 'adapter.yaml');
    await writeFile(configPath, CLUSTER_RULES);
    common = ['--config', configPath, '--prometheus-url', prometheus.url, '--time', String(T)];
  });
  after(async () => {
    await prometheus?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints per rule the series found and what each became', async () => {
    const { code, text } = await explain(...common);
    assert.equal(code, 0, text);
    assert.match(
      text,
      /^rules\[0\] {2}seriesQuery: \{__name__="http_requests_total",namespace!="",pod!=""\}\n {2}4 series, 1 name\n {2}http_requests_total\{namespace,pod,service,verb\} {2}→ http_requests_per_second on namespaces, pods, services$/m,
    );
    assert.match(
      text,
      /app_latency_seconds_total\{namespace,pod\} {2}✗ dropped by seriesFilters\[0\] isNot "\^app_\.\*_seconds_total\$"/,
    );
    assert.match(text, /^rules\[9\] {2}seriesQuery: stale_metric\n {2}0 series, 0 names$/m);
    assert.match(text, /^custom metrics announced \(16\): deployments\.apps\/queue_messages_ready, /m);
    assert.match(text, /^external metrics announced \(2\): kafka_consumer_lag, queue_depth$/m);
  });

  it('shows the exact PromQL for one object and the value it returns', async () => {
    const { code, text } = await explain(
      ...common,
      'http_requests_per_second',
      '--namespace',
      'default',
      '--name',
      'web-1',
    );
    assert.equal(code, 0, text);
    assert.ok(text.includes('custom metric http_requests_per_second for pods default/web-1\n'), text);
    assert.ok(text.includes('  also announced for: namespaces, services (choose with --resource)\n'), text);
    assert.ok(
      text.includes('  PromQL:  sum(rate(http_requests_total{namespace="default",pod="web-1"}[5m])) by (pod)\n'),
      text,
    );
    assert.ok(text.includes(`  result:  {pod="web-1"} 3 at ${new Date(T * 1000).toISOString()}\n`), text);
  });

  it('picks a sample object from the series when none is named', async () => {
    const { code, text } = await explain(...common, 'queue_messages_ready', '--resource', 'deployments.apps');
    assert.equal(code, 0, text);
    assert.ok(
      text.includes('  PromQL:  sum(queue_messages_ready{namespace="default",deployment="worker"}) by (deployment)\n'),
      text,
    );
    assert.ok(text.includes('  result:  {deployment="worker"} 49 at'), text);
  });

  it('explains external metrics with their selector', async () => {
    const { code, text } = await explain(
      ...common,
      'queue_depth',
      '--namespace',
      'team-a',
      '--metric-selector',
      'env=prod',
    );
    assert.equal(code, 0, text);
    assert.ok(text.includes('  PromQL:  sum(queue_depth{env="prod",namespace="team-a"}) by (queue)\n'), text);
    assert.match(text, /result: {2}\{queue="jobs"\} 42 at/);
  });

  it('says why a metric is missing: the series a filter dropped', async () => {
    const { code, text } = await explain(...common, 'latency_seconds_rate');
    assert.equal(code, 1);
    assert.match(
      text,
      /^rules\[7\] .*\n {2}2 series, 2 names\n {2}app_latency_seconds_total\{namespace,pod\} {2}✗ dropped by seriesFilters\[0\]/m,
    );
    assert.ok(!text.includes('app_errors_total'), 'with a metric, only the series that would be named it are listed');
    assert.ok(text.includes('custom metric latency_seconds_rate is not announced by any rule.\n'), text);
    assert.ok(
      text.includes(
        '  rules[7]: app_latency_seconds_total would be named latency_seconds_rate but was not used: dropped by seriesFilters[0] isNot "^app_.*_seconds_total$"',
      ),
      text,
    );
  });

  it('marks NaN results as dropped and exits 1 when no requested object has data', async () => {
    const { code, text } = await explain(...common, 'flaky_gauge', '--namespace', 'default', '--name', 'web-1');
    assert.equal(code, 1);
    assert.match(text, /result: {2}\{pod="web-1"\} NaN at .* \(NaN, the rule has nan: noData: dropped, never served\)/);
  });

  it('shows Prometheus`s error for a query it rejects', async () => {
    const { code, text } = await explain(...common, 'broken_query', '--name', 'team-a');
    assert.equal(code, 1);
    assert.match(text, /result: {2}error: prometheus backend rejected the query .*parse error/);
  });

  it('resolves --selector through the cluster and queries all objects at once', async () => {
    const kube: KubeApiserverDouble = await startKubeApiserverDouble();
    try {
      kube.objects.push(
        { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'web-1', labels: { app: 'web' } },
        { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'web-2', labels: { app: 'web' } },
      );
      const { code, text } = await explain(
        ...common,
        'http_requests_per_second',
        '--namespace',
        'default',
        '--selector',
        'app=web',
        '--kubeconfig',
        kube.kubeconfigPath,
      );
      assert.equal(code, 0, text);
      assert.ok(text.includes('objects matching "app=web": web-1, web-2\n'), text);
      assert.ok(text.includes('pod=~"web-1|web-2"'), text);
    } finally {
      await kube.close();
    }
  });

  it('explains a file with prometheus-adapter`s resourceRules, saying they serve metrics.k8s.io', async () => {
    const withResourceRules = join(dir, 'resource-rules.yaml');
    const rule = '{containerQuery: x, nodeQuery: y, resources: {template: <<.Resource>>}, containerLabel: container}';
    await writeFile(
      withResourceRules,
      `${CLUSTER_RULES}resourceRules:\n  cpu: ${rule}\n  memory: ${rule}\n  window: 5m\n`,
    );
    const { code, text } = await explain(
      '--config',
      withResourceRules,
      '--prometheus-url',
      prometheus.url,
      '--time',
      String(T),
    );
    assert.equal(code, 0, text);
    assert.match(text, /^resourceRules: served as metrics\.k8s\.io \(v1 and v1beta1\), pods and nodes$/m);
    assert.match(text, /^custom metrics announced \(\d+\): deployments\.apps\/queue_messages_ready, /m);
  });

  it('exits 2 with a message for usage and config errors', async () => {
    assert.match((await explain('--nope')).text, /Unknown option '--nope'/);
    assert.equal((await explain('--config', join(dir, 'missing.yaml'))).code, 2);
  });

  it('exits 2 for --selector without any kubeconfig: a usage error, not "no data"', async () => {
    const previous = process.env.KUBECONFIG;
    process.env.KUBECONFIG = '';
    try {
      const answer = await explain(
        ...common,
        'pod_requests',
        '--resource',
        'pods',
        '--namespace',
        'shop',
        '--selector',
        'app=web',
      );
      assert.equal(answer.code, 2, answer.text);
      assert.match(answer.text, /--selector lists objects from a cluster: pass --kubeconfig or set \$KUBECONFIG/);
    } finally {
      if (previous === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = previous;
    }
  });

  it('exits 3 saying Prometheus is unreachable, never "not announced by any rule"', async () => {
    const down = ['--config', configPath, '--prometheus-url', 'http://127.0.0.1:1', '--time', String(T)];
    for (const argv of [
      down,
      [...down, 'pod_requests', '--resource', 'pods', '--namespace', 'shop', '--name', 'web-1'],
    ]) {
      const answer = await explain(...argv);
      assert.equal(answer.code, 3, answer.text);
      assert.match(
        answer.text,
        /explain: Prometheus at http:\/\/127\.0\.0\.1:1 cannot be reached, so no rule could discover series: .*ECONNREFUSED/,
      );
      assert.doesNotMatch(answer.text, /not announced/);
    }
  });
});
