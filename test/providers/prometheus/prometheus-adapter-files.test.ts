import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { GroupResource } from '../../../src/api/group-resource.js';
import { parseSelector } from '../../../src/api/selector.js';
import { loadConfigFile } from '../../../src/config/load.js';
import { deadlineOf } from '../../../src/lib/deadline.js';
import { formatDuration } from '../../../src/lib/duration.js';
import { resourceRulesOf } from '../../../src/providers/prometheus/config.js';
import { adapterRequest, eventually } from '../../support/adapter-client.js';
import { type AdapterOnPrometheus, startAdapterOnPrometheus } from '../../support/adapter-on-prometheus.js';
import {
  alignedQueryTime,
  counter,
  expectedRate,
  gauge,
  type PrometheusServer,
  startPrometheus,
} from '../../support/prometheus-server.js';
import { type BackendUnderTest, startBackend } from './helpers.js';

/**
 * prometheus-adapter's own files, as its users have them (test/fixtures/prometheus-adapter, each
 * naming its upstream file and commit): the deploy ConfigMap, which holds only resourceRules, and
 * config-gen's output, which holds both. Both load; the resourceRules serve metrics.k8s.io and
 * the custom rules custom metrics, against a real Prometheus.
 */
const FIXTURES = fileURLToPath(new URL('../../fixtures/prometheus-adapter/', import.meta.url));
const CONFIG_GEN = join(FIXTURES, 'config-gen.yaml');

/** The `config.yaml` key of the deploy ConfigMap: the file the adapter's pod mounts. */
async function deployConfigMapFile(dir: string): Promise<string> {
  const configMap = parse(await readFile(join(FIXTURES, 'deploy-config-map.yaml'), 'utf8')) as {
    data: Record<string, string>;
  };
  const path = join(dir, 'config.yaml');
  await writeFile(path, configMap.data['config.yaml'] ?? '');
  return path;
}

const PODS: GroupResource = { group: '', resource: 'pods' };
const T = alignedQueryTime();
const deadline = deadlineOf(new AbortController().signal);

describe('prometheus-adapter`s own config files, loaded as files', () => {
  let dir: string;
  let prometheus: PrometheusServer;
  let configGen: BackendUnderTest;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prometheus-adapter-files-'));
    const range = { end: T };
    const pod = { namespace: 'default', pod: 'web-1' };
    prometheus = await startPrometheus({
      series: [
        counter('container_cpu_usage_seconds_total', { ...pod, container: 'web' }, 0.25, range),
        counter('container_cpu_usage_seconds_total', { ...pod, container: 'POD' }, 0.5, range),
        gauge('container_memory_working_set_bytes', { ...pod, container: 'web' }, 1_048_576, range),
        counter('container_network_receive_bytes_total', { ...pod, container: 'web' }, 100, range),
        counter('http_requests_total', { ...pod, service: 'web' }, 10, range),
        counter('http_request_duration_seconds_total', { ...pod, service: 'web' }, 0.5, range),
        gauge('queue_length', { namespace: 'default', deployment: 'worker' }, 7, range),
      ],
    });
    configGen = await startBackend(await readFile(CONFIG_GEN, 'utf8'), { url: prometheus.url, queryTime: T });
  });
  after(async () => {
    await configGen?.backend.close?.();
    await prometheus?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the deploy ConfigMap`s config.yaml: resourceRules only', async () => {
    const config = await loadConfigFile(await deployConfigMapFile(dir));
    assert.equal(resourceRulesOf(config)?.field, 'resourceRules');
    assert.equal(config.prometheus, undefined, 'no custom or external rules in it');
  });

  it('loads config-gen`s output: six rules and its resourceRules', async () => {
    const config = await loadConfigFile(CONFIG_GEN);
    assert.equal(config.prometheus?.rules?.length, 6);
    assert.equal(resourceRulesOf(config)?.rules.window, 300_000);
  });

  it('reads resourceRules.window as prometheus-adapter does (a Prometheus duration) in each of its files', async () => {
    const accepted: Record<string, number> = {
      '1d': 86_400_000,
      '2w': 14 * 86_400_000,
      '1y': 365 * 86_400_000,
      '1d12h': 36 * 3_600_000,
      '1h30m': 90 * 60_000,
      '90s': 90_000,
      '500ms': 500,
      '1m30s500ms': 90_500,
      '1.5h': 90 * 60_000,
    };
    const refused = ['0', '1.5d', '1h1d', '5', '', '-1m', '1d 1h', '300y', '5M'];
    const files = {
      configGen: await readFile(CONFIG_GEN, 'utf8'),
      deploy: await readFile(await deployConfigMapFile(dir), 'utf8'),
    };
    for (const [file, text] of Object.entries(files)) {
      assert.match(text, /"?window"?: "?5m"?/, `${file} sets window: 5m`);
      const withWindow = async (window: string) => {
        const path = join(dir, `window-${file}.yaml`);
        await writeFile(path, text.replace(/"?window"?: "?5m"?/, `window: "${window}"`));
        return resourceRulesOf(await loadConfigFile(path))?.rules.window;
      };
      for (const [window, ms] of Object.entries(accepted))
        assert.equal(await withWindow(window), ms, `${file}: ${window}`);
      for (const window of refused) {
        await assert.rejects(
          withWindow(window),
          /window: expected a duration above 0/,
          `${file}: ${JSON.stringify(window)}`,
        );
      }
    }
    // metrics.k8s.io writes it as metav1.Duration does (Go's form): 1d is 24h0m0s.
    assert.equal(formatDuration(86_400_000), '24h0m0s');
  });

  it('serves config-gen`s rules: container counters as per-pod rates, gauges as they are, labels by template', async () => {
    const names = (configGen.backend.custom.listCustomMetrics() ?? [])
      .map(
        (m) => `${m.resource.group ? `${m.resource.resource}.${m.resource.group}` : m.resource.resource}/${m.metric}`,
      )
      .sort();
    assert.deepEqual(names, [
      'deployments.apps/queue_length',
      'namespaces/cpu_usage',
      'namespaces/http_request_duration',
      'namespaces/http_requests',
      'namespaces/memory_working_set_bytes',
      'namespaces/network_receive_bytes',
      'namespaces/queue_length',
      'pods/cpu_usage',
      'pods/http_request_duration',
      'pods/http_requests',
      'pods/memory_working_set_bytes',
      'pods/network_receive_bytes',
      'services/http_request_duration',
      'services/http_requests',
    ]);
    const value = async (metric: string, name: string, resource = PODS) =>
      (
        await configGen.backend.custom.getMetricByName({
          object: { resource, name, namespace: 'default' },
          metric,
          metricSelector: parseSelector(''),
          deadline,
        })
      ).value;
    assert.equal(await value('cpu_usage', 'web-1'), expectedRate(0.25, 300), 'the POD sandbox left out');
    assert.equal(await value('network_receive_bytes', 'web-1'), expectedRate(100, 300));
    assert.equal(await value('memory_working_set_bytes', 'web-1'), 1_048_576);
    assert.equal(await value('http_requests', 'web', { group: '', resource: 'services' }), expectedRate(10, 300));
    assert.equal(await value('http_request_duration', 'web-1'), expectedRate(0.5, 300));
    assert.equal(await value('queue_length', 'worker', { group: 'apps', resource: 'deployments' }), 7);
  });
});

describe('prometheus-adapter`s own config files, through the adapter`s --config', () => {
  let prometheus: PrometheusServer;
  let dir: string;
  const running: AdapterOnPrometheus[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prometheus-adapter-files-'));
    // The process runs on the real clock: gauges past "now" have their value whenever it asks.
    const range = { end: Math.floor(Date.now() / 1000) + 900, seconds: 2700 };
    prometheus = await startPrometheus({
      series: [
        gauge(
          'container_memory_working_set_bytes',
          { namespace: 'default', pod: 'web-1', container: 'web' },
          1_048_576,
          range,
        ),
        gauge('queue_length', { namespace: 'default', deployment: 'worker' }, 7, range),
      ],
    });
  });
  after(async () => {
    for (const adapter of running) await adapter.close();
    await prometheus?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (config: string) => {
    const adapter = await startAdapterOnPrometheus({ config, prometheusUrl: prometheus.url });
    running.push(adapter);
    return adapter.adapter;
  };
  const podMetrics = async (port: number) => {
    const answer = await adapterRequest(port, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-1');
    assert.equal(answer.status, 200, answer.text);
    return answer.body;
  };

  it('serves config-gen`s rules and its resourceRules, before and after a reload', async () => {
    const adapter = await start(await readFile(CONFIG_GEN, 'utf8'));
    // config-gen's memory query has no container!="" and no sum over duplicates: the series above is the container.
    assert.deepEqual((await podMetrics(adapter.port)).containers, [{ name: 'web', usage: { memory: '1Mi' } }]);
    const pod = await adapterRequest(
      adapter.port,
      '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web-1/memory_working_set_bytes',
    );
    assert.equal(pod.status, 200, pod.text);
    assert.equal(pod.body.items[0].value, '1048576');
    const deployment = await adapterRequest(
      adapter.port,
      '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/deployments.apps/worker/queue_length',
    );
    assert.equal(deployment.body.items?.[0]?.value, '7', deployment.text);

    adapter.child.kill('SIGHUP');
    await eventually('the reload', async () =>
      adapter.logs.some((l) => l.msg === 'config reloaded') ? true : undefined,
    );
    assert.deepEqual((await podMetrics(adapter.port)).containers, [{ name: 'web', usage: { memory: '1Mi' } }]);
    const again = await adapterRequest(
      adapter.port,
      '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web-1/memory_working_set_bytes',
    );
    assert.equal(again.body.items?.[0]?.value, '1048576', again.text);
  });

  it('starts on the deploy ConfigMap (resourceRules only) and answers discovery for both groups', async () => {
    const adapter = await start(await readFile(await deployConfigMapFile(dir), 'utf8'));
    const discovery = await adapterRequest(adapter.port, '/apis/custom.metrics.k8s.io/v1beta1');
    assert.equal(discovery.status, 200, discovery.text);
    const resources = await adapterRequest(adapter.port, '/apis/metrics.k8s.io/v1beta1');
    assert.deepEqual(
      resources.body.resources.map((r: { name: string; kind: string }) => `${r.name} ${r.kind}`),
      ['nodes NodeMetrics', 'pods PodMetrics'],
    );
  });
});
