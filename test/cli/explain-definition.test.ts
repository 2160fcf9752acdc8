import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runExplain } from '../../src/cli/explain.js';
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
  after(() => prometheus.stop());

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
