import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { eventually } from '../support/adapter-client.js';
import { startClusterHarness } from '../support/cluster-harness.js';
import {
  FORBIDDEN_QUEUE_POLICY,
  METRIC_DEFINITIONS_REF,
  putForbiddenDefinition,
  statusWritten,
} from '../support/forbidden-definition.js';
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

const cluster = startedForFile(() =>
  startClusterHarness({ config: FORBIDDEN_QUEUE_POLICY, extraArgs: ['--leader-elect-lease-duration=3s'] }),
);

describe('kubectl get mdef: the CRD printer columns over the status the adapter writes', {
  skip: !kubectl && 'kubectl is not installed',
}, () => {
  it('shows the metric served, also when it defaults to the object name', async () => {
    cluster.kube.discovery.addCustomResourceDefinition({
      group: METRIC_DEFINITIONS_REF.group,
      version: METRIC_DEFINITIONS_REF.version,
      resource: {
        name: 'metricdefinitions',
        singularName: 'metricdefinition',
        namespaced: true,
        kind: 'MetricDefinition',
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
        shortNames: ['mdef'],
      },
    });
    putForbiddenDefinition(cluster.kube, 'jobs');
    putForbiddenDefinition(cluster.kube, 'named', { metric: 'jobs-backlog' });
    for (const name of ['jobs', 'named']) {
      await eventually(`a status write for team-b/${name}`, async () => statusWritten(cluster.kube, name), 30_000, 50);
    }

    const spec = ['NAME:.metadata.name', ...columns.map((c) => `${c.name.toUpperCase()}:${c.jsonPath}`)].join(',');
    const result = await runKubectl(kubectl ?? 'kubectl', cluster.kube.kubeconfigPath, [
      'get',
      'mdef',
      '-n',
      'team-b',
      '-o',
      `custom-columns=${spec}`,
    ]);
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
  });
});
