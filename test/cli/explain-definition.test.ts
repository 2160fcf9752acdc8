import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runExplain } from '../../src/cli/explain.js';
import { definitionObject } from '../support/definitions.js';
import { startKubeApiserverDouble } from '../support/kube-apiserver-double.js';
import { gauge, type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';

/** `explain --definition NS/NAME` against a real Prometheus: the query as it runs, the verdict, the request, the value. */
describe('explain --definition', () => {
  let prometheus: PrometheusServer;
  let dir: string;
  before(async () => {
    const now = Math.floor(Date.now() / 1000);
    const range = { end: now + 900, seconds: 2700 };
    prometheus = await startPrometheus({
      series: [
        gauge('jobs_failed', { namespace: 'team-a' }, 3, range),
        gauge('jobs_failed', { namespace: 'team-b' }, 7, range),
      ],
    });
    dir = await mkdtemp(join(tmpdir(), 'explain-definition-'));
    await writeFile(
      join(dir, 'config.yaml'),
      `prometheus:\n  url: ${prometheus.url}\ndefinitions:\n  enabled: true\n  rules:\n  - namespaces: ["team-*"]\n    prometheus: {}\n`,
    );
    await writeFile(
      join(dir, 'defs.yaml'),
      `apiVersion: hpa-metrics-adapter.io/v1alpha1
kind: MetricDefinition
metadata: { name: failing, namespace: team-a }
spec: { prometheus: { query: sum(jobs_failed) } }
---
apiVersion: hpa-metrics-adapter.io/v1alpha1
kind: MetricDefinition
metadata: { name: evil, namespace: team-a }
spec: { prometheus: { query: 'sum(jobs_failed{namespace="team-b"})' } }
`,
    );
  });
  after(async () => {
    await prometheus.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the definition from the cluster when no --file is given: query, verdict, request and value', async () => {
    const kube = await startKubeApiserverDouble();
    try {
      kube.watch.put(definitionObject('team-a', 'in-cluster', { prometheus: { query: 'sum(jobs_failed) * 2' } }));
      const out = new PassThrough();
      let text = '';
      out.on('data', (chunk) => {
        text += String(chunk);
      });
      const args = ['--config', join(dir, 'config.yaml'), '--kubeconfig', kube.kubeconfigPath];
      const status = await runExplain(['--definition', 'team-a/in-cluster', ...args], out);
      assert.equal(status, 0, text);
      assert.match(text, /query \(as it runs\): sum\(jobs_failed\{namespace="team-a"\}\) \* 2/);
      assert.match(text, /verdict: Valid/);
      assert.match(text, /request: GET \/apis\/external\.metrics\.k8s\.io\/v1beta1\/namespaces\/team-a\/in-cluster/);
      assert.match(text, /value: 6 at /);
      const missing = await runExplain(['--definition', 'team-a/absent', ...args], new PassThrough());
      assert.equal(missing, 2);
    } finally {
      await kube.close();
    }
  });

  const explain = async (name: string) => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk) => {
      text += String(chunk);
    });
    const status = await runExplain(
      ['--definition', `team-a/${name}`, '--file', join(dir, 'defs.yaml'), '--config', join(dir, 'config.yaml')],
      out,
    );
    return { status, text };
  };

  it('prints the query with the namespace injected, the verdict, the request and the value', async () => {
    const { status, text } = await explain('failing');
    assert.equal(status, 0, text);
    assert.match(text, /query \(as it runs\): sum\(jobs_failed\{namespace="team-a"\}\)/);
    assert.match(text, /verdict: Valid/);
    assert.match(text, /request: GET \/apis\/external\.metrics\.k8s\.io\/v1beta1\/namespaces\/team-a\/failing/);
    assert.match(text, /value: 3 at /);
  });

  it('says why a query naming another namespace is not run', async () => {
    const { status, text } = await explain('evil');
    assert.equal(status, 1, text);
    assert.match(text, /verdict: QueryInvalid: the query names the label "namespace"/);
    assert.doesNotMatch(text, /value:/);
  });
});
