import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { SERVED_GROUPS } from '../../src/api/groups.js';
import { type ClosableKubeClient, createKubeClient } from '../../src/kube/client.js';
import { ClusterResources } from '../../src/kube/cluster-resources.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../support/kube-apiserver-double.js';

/**
 * The cluster's resource names, read from the kube-apiserver double's discovery (a 1.30 server
 * with Argo Rollouts installed), resolved the way kubectl's RESTMapper resolves them.
 */

let double: KubeApiserverDouble;
let kube: ClosableKubeClient;
const logs: { level: string; msg: string }[] = [];

function resolver(): ClusterResources {
  const logger = createLogger('info', {
    write: (line: string) => {
      logs.push(JSON.parse(line));
    },
  });
  return new ClusterResources({ kube, logger, skipGroups: SERVED_GROUPS.map((g) => g.name), intervalMs: 60_000 });
}

before(async () => {
  double = await startKubeApiserverDouble();
  const loaded = loadKubeConfig(double.kubeconfigPath);
  assert.ok(loaded);
  // No test here waits out a timeout: 2 s was too little for a discovery read on a loaded machine.
  kube = createKubeClient(loaded.kubeConfig, { timeoutMs: 30_000 });
});

after(async () => {
  kube?.close();
  await double?.close();
});

describe('resource names from the cluster discovery', () => {
  it('resolves a CRD, secrets, leases and jobs as kubectl does: plural, singular, kind, short name, group', async () => {
    const resources = resolver();
    await resources.refresh();
    const rollout = {
      group: 'argoproj.io',
      version: 'v1alpha1',
      resource: 'rollouts',
      singular: 'rollout',
      kind: 'Rollout',
      namespaced: true,
      shortNames: ['ro'],
    };
    for (const name of [
      'rollouts',
      'rollout',
      'Rollout',
      'ro',
      'rollouts.argoproj.io',
      'rollout.argoproj.io',
      'rollouts.v1alpha1.argoproj.io',
    ]) {
      assert.deepEqual(resources.resolve(name), rollout, name);
    }
    assert.equal(resources.resolve('secrets')?.kind, 'Secret');
    assert.deepEqual(
      [resources.resolve('leases.coordination.k8s.io')?.kind, resources.resolve('leases.coordination.k8s.io')?.version],
      ['Lease', 'v1'],
    );
    assert.deepEqual([resources.resolve('jobs.batch')?.kind, resources.resolve('job')?.group], ['Job', 'batch']);
    assert.equal(resources.resolve('hpa')?.version, 'v2', 'the preferred version of autoscaling');
    assert.equal(resources.resolve('events')?.group, '', 'without a group, the core group wins');
    assert.equal(resources.resolve('events.events.k8s.io')?.group, 'events.k8s.io');
    assert.equal(resources.resolve('nodes')?.namespaced, false);
    assert.equal(resources.resolve('pods/log'), undefined, 'subresources are not resources');
    assert.equal(resources.resolve('widgets.example.com'), undefined);
    assert.equal(resources.source, "the cluster's API discovery");
  });

  it('never asks the API server about our own groups: it would proxy the question back to us', async () => {
    // With the adapter installed, the API server lists our groups among its aggregated APIs.
    for (const name of ['custom.metrics.k8s.io', 'external.metrics.k8s.io']) {
      double.discovery.groups.push({ name, versions: [{ version: 'v1beta1', resources: [] }] });
    }
    double.discovery.requests.length = 0;
    try {
      await resolver().refresh();
    } finally {
      double.discovery.groups = double.discovery.groups.filter((g) => !g.name.endsWith('.metrics.k8s.io'));
    }
    assert.ok(double.discovery.requests.includes('/apis/argoproj.io/v1alpha1'));
    assert.ok(double.discovery.requests.includes('/api/v1'));
    assert.ok(double.discovery.requests.includes('/apis/metrics.k8s.io/v1beta1'), 'other aggregated APIs are read');
    assert.deepEqual(
      double.discovery.requests.filter((p) => /^\/apis\/(custom|external)\.metrics/.test(p)),
      [],
    );
  });

  it('answers from the built-in table until discovery has been read', () => {
    const resources = resolver();
    assert.equal(resources.resolve('deployments.apps')?.kind, 'Deployment');
    assert.equal(resources.resolve('rollouts.argoproj.io'), undefined);
    assert.match(resources.source, /built-in table.*not read yet/);
  });

  it('picks up a CRD installed later on the next refresh, and hands out a new list only when something changed', async () => {
    const resources = resolver();
    await resources.refresh();
    const before = resources.list();
    await resources.refresh();
    assert.equal(resources.list(), before, 'unchanged discovery keeps the same list');
    double.discovery.addCustomResourceDefinition({
      group: 'keda.sh',
      version: 'v1alpha1',
      resource: {
        name: 'scaledobjects',
        singularName: 'scaledobject',
        namespaced: true,
        kind: 'ScaledObject',
        verbs: ['get', 'list'],
        shortNames: ['so'],
      },
    });
    assert.equal(resources.resolve('scaledobjects.keda.sh'), undefined);
    await resources.refresh();
    assert.notEqual(resources.list(), before);
    assert.equal(resources.resolve('so')?.group, 'keda.sh');
  });

  it('keeps the last good names of a group-version that fails, and of everything when /apis fails', async () => {
    const resources = resolver();
    await resources.refresh();
    double.discovery.failing.set('/apis/argoproj.io/v1alpha1', 503);
    try {
      await resources.refresh();
      assert.equal(resources.resolve('rollouts')?.kind, 'Rollout', 'a failing group keeps what it last served');
      assert.ok(logs.some((l) => /keeping what they last served/.test(l.msg)));
      double.discovery.failing.set('/apis', 503);
      await assert.rejects(resources.refresh(), /503/);
      assert.equal(resources.resolve('rollouts')?.kind, 'Rollout');
      assert.equal(resources.resolve('secrets')?.kind, 'Secret');
    } finally {
      double.discovery.failing.clear();
    }
  });

  it('reads 11 or more group-versions at once without Node warning of a listener leak on its stop signal', async () => {
    const groupVersions = double.discovery.groups.filter((g) => g.versions.length > 0).length;
    assert.ok(groupVersions >= 11, `${groupVersions} group-versions, the warning's threshold is 11`);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      await resolver().refresh();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(
      warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
      [],
    );
  });

  it('start() does not fail when the API server is down; names resolve from the built-in table', async () => {
    const resources = resolver();
    await double.setDown(true);
    try {
      await resources.start();
      assert.equal(resources.resolve('pods')?.kind, 'Pod');
      assert.ok(logs.some((l) => /built-in table until it answers/.test(l.msg)));
    } finally {
      resources.close();
      await double.setDown(false);
    }
  });
});

describe('the built-in table', () => {
  it('covers every resource a standard 1.30 cluster serves, with the same kind, scope and preferred version', () => {
    const missing: string[] = [];
    for (const group of double.discovery.groups) {
      if (group.name === 'argoproj.io' || group.name === 'keda.sh' || group.name === 'metrics.k8s.io') continue;
      const [preferred] = group.versions;
      for (const r of preferred?.resources ?? []) {
        if (r.name.includes('/')) continue;
        const found = BUILTIN_RESOURCES.find({ group: group.name, resource: r.name });
        const expected = `${r.kind} ${r.namespaced} ${preferred?.version} ${r.singularName}`;
        const actual = found && `${found.kind} ${found.namespaced} ${found.version} ${found.singular}`;
        if (actual !== expected) missing.push(`${r.name}.${group.name}: ${actual} != ${expected}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
