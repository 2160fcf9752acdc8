import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSelector } from '../../src/api/selector.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import { hpaObject } from '../support/hpa-objects.js';
import { gauge } from '../support/prometheus-server.js';
import type { RefreshReplica } from '../support/refresh-replica.js';
import { refreshSuite } from '../support/refresh-suite.js';

const TTL_MS = 2_000;
const CONFIG = `
rules:
- seriesQuery: '{__name__="worker_inflight",namespace!="",pod!=""}'
  resources:
    overrides: { namespace: { resource: namespace }, pod: { resource: pod } }
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{__name__="service_backlog",namespace!="",service!=""}'
  resources:
    overrides: { namespace: { resource: namespace }, service: { resource: service } }
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
cache:
  prometheus: { ttl: 2s, maxStale: 1m }
`;
const PODS = { group: '', resource: 'pods' };
const SERVICES = { group: '', resource: 'services' };

/**
 * HPA-aware refresh of the custom metrics reads (hpa-refresher.test.ts has the External ones and
 * the life cycle): a Pods metric by the pods its scale target selects, an Object metric by its
 * described object; each a hit on a new replica's first poll and on the first poll after the TTL.
 */
describe('HPA-aware refresh of Pods and Object metrics', () => {
  const suite = refreshSuite((range) => [
    gauge('worker_inflight', { namespace: 'default', pod: 'worker-0' }, 3, range),
    gauge('worker_inflight', { namespace: 'default', pod: 'worker-1' }, 5, range),
    gauge('service_backlog', { namespace: 'default', service: 'jobs' }, 42, range),
  ]);

  /** The refresher as main.ts wires it: Pods metrics resolve their selector through the watch's /scale read. */
  const start = () => suite.startReplica(CONFIG);

  /** A Pods metric's poll: the controller sends the scale target's selector (app=worker) as labelSelector. */
  function pollPods(started: RefreshReplica): Promise<{ result: string; values: [string, number][] }> {
    return started.polled(async () => {
      const samples = await started.backends.router.getMetricBySelector({
        resource: PODS,
        namespace: 'default',
        objectSelector: parseSelector('app=worker'),
        metric: 'worker_inflight',
        metricSelector: parseSelector(''),
        deadline: deadlineOf(AbortSignal.timeout(5_000)),
      });
      return { values: samples.map((sample): [string, number] => [sample.name, sample.value]) };
    });
  }

  /** An Object metric's poll: the described object, Service default/jobs. */
  function pollObject(started: RefreshReplica): Promise<{ result: string; value: number }> {
    return started.polled(async () => {
      const sample = await started.backends.router.getMetricByName({
        object: { resource: SERVICES, namespace: 'default', name: 'jobs' },
        metric: 'service_backlog',
        metricSelector: parseSelector(''),
        deadline: deadlineOf(AbortSignal.timeout(5_000)),
      });
      return { value: sample.value };
    });
  }

  it('keeps a Pods metric warm: its pods are the ones the scale target selects, read through /scale', async () => {
    suite.double.hpaCluster.scales.set('apps/deployments/default/worker', {
      specReplicas: 2,
      statusReplicas: 2,
      selector: 'app=worker',
    });
    for (const name of ['worker-0', 'worker-1', 'other-0'])
      suite.double.objects.push({
        group: '',
        version: 'v1',
        resource: 'pods',
        namespace: 'default',
        name,
        labels: { app: name.startsWith('worker') ? 'worker' : 'other' },
      });
    suite.double.watch.put(hpaObject('default', 'worker', [{ type: 'Pods', name: 'worker_inflight' }]));
    const started = await start();
    assert.equal(await started.refresher.warmUp(5_000), true);
    const answer = {
      values: [
        ['worker-0', 3],
        ['worker-1', 5],
      ] as [string, number][],
    };
    assert.deepEqual(await pollPods(started), { result: 'hit', ...answer }, 'the first poll of a new replica is a hit');
    await sleep(2.5 * TTL_MS);
    assert.deepEqual(
      await pollPods(started),
      { result: 'hit', ...answer },
      'still a hit past the TTL: refreshed before it',
    );
  });

  it("keeps an Object metric warm: the described object's value", async () => {
    const backlog = { apiVersion: 'v1', kind: 'Service', name: 'jobs' };
    suite.double.watch.put(
      hpaObject('default', 'worker', [{ type: 'Object', name: 'service_backlog', describedObject: backlog }]),
    );
    const started = await start();
    assert.equal(await started.refresher.warmUp(5_000), true);
    assert.deepEqual(
      await pollObject(started),
      { result: 'hit', value: 42 },
      'the first poll of a new replica is a hit',
    );
    await sleep(2.5 * TTL_MS);
    assert.deepEqual(
      await pollObject(started),
      { result: 'hit', value: 42 },
      'still a hit past the TTL: refreshed before it',
    );
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
