import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type AdapterProcess, MAIN_JS, startAdapter } from '../../support/adapter-process.js';
import { gauge, type PrometheusServer, startPrometheus } from '../../support/prometheus-server.js';

/**
 * The built adapter (dist/main.js) serving a prometheus-adapter config file against a real
 * Prometheus. The process runs on the real clock, so the series run past "now" and are gauges:
 * their value is exact whenever the request lands.
 */
const CONFIG = `
rules:
- seriesQuery: '{__name__="app_queue_length",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: '{__name__="broker_queue_depth",queue!=""}'
  name: {as: queue_depth}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`;

const execFileAsync = promisify(execFile);

function getJson(
  port: number,
  path: string,
): Promise<{ status: number; body: { items?: { value: string }[]; resources?: { name: string }[] } }> {
  return new Promise((resolve, reject) => {
    httpsRequest({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    })
      .on('error', reject)
      .end();
  });
}

describe('the adapter process with a Prometheus backend', () => {
  let prometheus: PrometheusServer;
  let adapter: AdapterProcess;
  let dir: string;
  let configPath: string;

  before(async () => {
    const now = Math.floor(Date.now() / 1000);
    const range = { end: now + 900, seconds: 2700 };
    prometheus = await startPrometheus({
      series: [
        gauge('app_queue_length', { namespace: 'default', pod: 'worker-1' }, 12, range),
        gauge('app_queue_length', { namespace: 'default', pod: 'worker-2' }, 30, range),
        gauge('broker_queue_depth', { namespace: 'default', queue: 'jobs' }, 1500, range),
      ],
    });
    dir = await mkdtemp(join(tmpdir(), 'adapter-prometheus-'));
    configPath = join(dir, 'config.yaml');
    await writeFile(configPath, CONFIG);
    adapter = await startAdapter({
      args: ['--secure-port=0', `--config=${configPath}`, `--prometheus-url=${prometheus.url}`],
    });
  });
  after(async () => {
    await adapter?.stop();
    await prometheus?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('announces the discovered metrics and serves their values', async () => {
    const discovery = await getJson(adapter.port, '/apis/custom.metrics.k8s.io/v1beta1');
    assert.ok(
      discovery.body.resources?.some((r) => r.name === 'pods/app_queue_length'),
      JSON.stringify(discovery.body),
    );
    const pod = await getJson(
      adapter.port,
      '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/worker-2/app_queue_length',
    );
    assert.equal(pod.status, 200);
    assert.equal(pod.body.items?.[0]?.value, '30');
    const external = await getJson(
      adapter.port,
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3Djobs',
    );
    assert.equal(external.status, 200);
    assert.equal(external.body.items?.[0]?.value, '1500');
  });

  it('answers a selector request in standalone mode with 400 (nothing will change by retrying), saying why', async () => {
    const list = await getJson(
      adapter.port,
      '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/app_queue_length?labelSelector=app%3Dworker',
    );
    assert.equal(list.status, 400);
    assert.match(JSON.stringify(list.body), /object listing unavailable \(standalone mode\)/);
  });

  it('runs `explain` from the same binary', async () => {
    const { stdout } = await execFileAsync(process.execPath, [
      MAIN_JS,
      'explain',
      '--config',
      configPath,
      '--prometheus-url',
      prometheus.url,
      'app_queue_length',
      '--name',
      'worker-1',
    ]);
    assert.match(stdout, /PromQL: {2}sum\(app_queue_length\{namespace="default",pod="worker-1"\}\) by \(pod\)/);
    assert.match(stdout, /result: {2}\{pod="worker-1"\} 12 at/);
  });

  it('hot-reloads a changed config file, and keeps serving the old one when the new one is broken', async () => {
    const renamed = CONFIG.replace('name: {as: queue_depth}', 'name: {as: broker_backlog}');
    await writeFile(configPath, renamed);
    const served = async (name: string) =>
      (await getJson(adapter.port, '/apis/external.metrics.k8s.io/v1beta1')).body.resources?.some(
        (r) => r.name === name,
      );
    for (let i = 0; i < 100 && !(await served('broker_backlog')); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await served('broker_backlog'), true, 'the renamed metric is announced without a restart');
    assert.equal(await served('queue_depth'), false);
    assert.ok(adapter.logs.some((l) => l.msg === 'config reloaded'));

    await writeFile(configPath, 'rules: [ {seriesQuery: broken');
    for (let i = 0; i < 100 && !adapter.logs.some((l) => String(l.msg).startsWith('config reload refused')); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const refused = adapter.logs.find((l) => String(l.msg).startsWith('config reload refused'));
    assert.ok(refused, 'the broken file is refused and logged');
    assert.match(String(refused.err), /invalid YAML/);
    const external = await getJson(
      adapter.port,
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/broker_backlog?labelSelector=queue%3Djobs',
    );
    assert.equal(external.status, 200, 'the previous config keeps serving');
    assert.equal(external.body.items?.[0]?.value, '1500');
    await writeFile(configPath, CONFIG);
  });

  it('refuses to start with rules but no Prometheus URL, naming the field', async () => {
    await assert.rejects(
      startAdapter({ args: ['--secure-port=0', `--config=${configPath}`] }),
      /field prometheus\.url/,
    );
  });
});
