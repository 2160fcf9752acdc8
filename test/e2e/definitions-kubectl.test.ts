import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { startClusterHarness } from '../support/cluster-harness.js';
import { findKubectl, runKubectl } from '../support/kubectl.js';
import { startedForFile } from '../support/started-for-file.js';

/**
 * `kubectl get mdef` columns, as the CRD's additionalPrinterColumns declare them, over what the
 * built adapter wrote into the definitions' status. The kube double stores objects but cannot
 * render a Table (kube-apiserver evaluates the columns' JSONPath server-side), so the real kubectl
 * evaluates the same JSONPath (-o custom-columns, Kubernetes' own JSONPath package) over the
 * objects it LISTs from the double.
 */

const crd = parse(readFileSync('deploy/base/crd-metricdefinitions.yaml', 'utf8'));
const columns: { name: string; jsonPath: string }[] = crd.spec.versions[0].additionalPrinterColumns;
const kubectl = findKubectl();

// team-b may read only team-b-* queues: both definitions are Forbidden, judged without any backend call.
const CONFIG = `
definitions:
  enabled: true
  rules:
    - namespaces: ["team-*"]
      sqs:
        queues: ["\${namespace}-*"]
`;

const cluster = startedForFile(() =>
  startClusterHarness({ config: CONFIG, extraArgs: ['--leader-elect-lease-duration=3s'] }),
);

async function eventually<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kubectl get mdef: the CRD printer columns over the status the adapter writes', {
  skip: !kubectl && 'kubectl is not installed',
}, () => {
  it('shows the metric served, also when it defaults to the object name', async () => {
    const definition = {
      group: 'hpa-metrics-adapter.io',
      version: 'v1alpha1',
      resource: 'metricdefinitions',
      namespace: 'team-b',
      generation: 1,
    };
    cluster.kube.discovery.addCustomResourceDefinition({
      group: definition.group,
      version: definition.version,
      resource: {
        name: 'metricdefinitions',
        singularName: 'metricdefinition',
        namespaced: true,
        kind: 'MetricDefinition',
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
        shortNames: ['mdef'],
      },
    });
    cluster.kube.watch.put({ ...definition, name: 'jobs', spec: { sqs: { queueName: 'team-a-jobs' } } });
    cluster.kube.watch.put({
      ...definition,
      name: 'named',
      spec: { metric: 'jobs-backlog', sqs: { queueName: 'team-a-other' } },
    });
    for (const name of ['jobs', 'named']) {
      await eventually(`a status write for team-b/${name}`, 30_000, () =>
        cluster.kube.writes.find((w) => w.endpoint === 'status' && w.name === name && w.code === 200),
      );
    }

    const home = await mkdtemp(join(tmpdir(), 'kubectl-home-'));
    try {
      const spec = ['NAME:.metadata.name', ...columns.map((c) => `${c.name.toUpperCase()}:${c.jsonPath}`)].join(',');
      const result = await runKubectl(
        kubectl ?? 'kubectl',
        cluster.kube.kubeconfigPath,
        ['get', 'mdef', '-n', 'team-b', '-o', `custom-columns=${spec}`],
        home,
      );
      assert.equal(result.code, 0, result.stderr);
      const [header = '', ...lines] = result.stdout.trim().split('\n');
      const names = header.split(/\s+/);
      const rows = new Map(
        lines.map((line) => {
          const cells = line.split(/\s+/);
          const row = Object.fromEntries(names.map((n, i) => [n, cells[i]]));
          return [row.NAME, row];
        }),
      );
      assert.equal(rows.get('jobs')?.METRIC, 'jobs', result.stdout);
      assert.equal(rows.get('named')?.METRIC, 'jobs-backlog', result.stdout);
      assert.equal(rows.get('jobs')?.READY, 'False', result.stdout);
      assert.equal(rows.get('jobs')?.REASON, 'Forbidden', result.stdout);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
