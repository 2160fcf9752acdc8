import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { GroupResource } from '../../../src/api/group-resource.js';
import { parseSelector } from '../../../src/api/selector.js';
import { runExplain } from '../../../src/cli/explain.js';
import { deadlineOf } from '../../../src/lib/deadline.js';
import { buildTestApp } from '../../support/app.js';
import { capturingLogger } from '../../support/capturing-logger.js';
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
 * Where prometheus-adapter's behaviour is not written in any test table but users' HPAs depend on
 * it, each case against a real Prometheus: which of two rules naming one metric is served (the
 * later), and which custom metrics discovery announces as namespaced.
 */
const T = alignedQueryTime();
const PODS: GroupResource = { group: '', resource: 'pods' };
const deadline = deadlineOf(new AbortController().signal);

const RULES = `
rules:
- seriesQuery: jobs_pending
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"queue_._depth"}'
  resources: {template: <<.Resource>>}
  name: {as: queue_depth}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: jobs_pending_total
  resources: {template: <<.Resource>>}
  name: {matches: ^(.*)_total$}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
- seriesQuery: worker_busy
  resources: {overrides: {pod: {resource: pod}}}
  metricsQuery: sum(<<.Series>>{pod=~"<<index .LabelValuesByName "pod">>"}) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"node_temperature|volume_fill|class_iops"}'
  resources: {template: <<.Resource>>}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"error_ratio|saturation"}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: error_ratio
  resources: {template: <<.Resource>>}
  name: {as: error_ratio_or_nothing}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
  nan: noData
externalRules:
- seriesQuery: queue_error_ratio
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
- seriesQuery: backlog_a
  name: {as: backlog}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
- seriesQuery: backlog_b
  name: {as: backlog}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
`;

describe('prometheus-adapter parity against a real Prometheus', () => {
  let prometheus: PrometheusServer;
  let subject: BackendUnderTest;
  let dir: string;
  const logs = capturingLogger();

  before(async () => {
    const range = { end: T };
    const web = { namespace: 'default', pod: 'web-1' };
    prometheus = await startPrometheus({
      series: [
        gauge('jobs_pending', web, 5, range),
        counter('jobs_pending_total', web, 2, range),
        gauge('queue_a_depth', web, 10, range),
        gauge('queue_b_depth', web, 20, range),
        gauge('backlog_a', { namespace: 'default', queue: 'jobs' }, 100, range),
        gauge('backlog_b', { namespace: 'default', queue: 'jobs' }, 200, range),
        // A pod series without a namespace label, as a job outside Kubernetes service discovery writes it.
        gauge('worker_busy', { pod: 'worker-1' }, 1, range),
        gauge('node_temperature', { node: 'node-a', instance: '10.0.0.1:9100' }, 40, range),
        gauge('volume_fill', { persistentvolume: 'pv-1' }, 0.5, range),
        gauge('class_iops', { storageclass: 'fast' }, 3000, range),
        // 0/0: a ratio over no traffic.
        gauge('error_ratio', web, Number.NaN, range),
        gauge('error_ratio', { namespace: 'default', pod: 'web-2' }, 0.25, range),
        gauge('saturation', web, Number.POSITIVE_INFINITY, range),
        gauge('queue_error_ratio', { namespace: 'default', queue: 'jobs' }, Number.NaN, range),
      ],
    });
    subject = await startBackend(RULES, { url: prometheus.url, queryTime: T, logger: logs.logger });
    dir = await mkdtemp(join(tmpdir(), 'parity-'));
  });
  after(async () => {
    await subject?.backend.close?.();
    await prometheus?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const value = async (metric: string, name: string, namespace?: string, resource = PODS) =>
    (
      await subject.backend.custom.getMetricByName({
        object: { resource, name, ...(namespace ? { namespace } : {}) },
        metric,
        metricSelector: parseSelector(''),
        deadline,
      })
    ).value;
  const externalValues = async (metric: string) =>
    (
      await subject.backend.external.getExternalMetric({
        metric,
        namespace: 'default',
        metricSelector: parseSelector(''),
        deadline,
      })
    ).map((s) => s.value);

  describe('two rules naming one metric: the later is served, as prometheus-adapter`s registry keeps the last', () => {
    it('serves the later rule`s custom metric, for each resource they share', async () => {
      assert.equal(await value('jobs_pending', 'web-1', 'default'), expectedRate(2, 300), 'rules[2], the rate');
      assert.equal(
        await value('jobs_pending', 'default', undefined, { group: '', resource: 'namespaces' }),
        expectedRate(2, 300),
      );
    });

    it('serves the later series of one rule when two of its series get one name', async () => {
      assert.equal(await value('queue_depth', 'web-1', 'default'), 20, 'queue_b_depth, after queue_a_depth');
    });

    it('serves the later external rule for one external metric name', async () => {
      assert.deepEqual(await externalValues('backlog'), [200]);
    });

    it('logs each collision once, naming both rules and series, and not again at the next relist', async () => {
      await subject.backend.relist();
      const collisions = logs.lines.filter((l) => String(l.msg).startsWith('two rules name one metric'));
      assert.deepEqual(collisions.map((l) => l.msg).sort(), [
        'two rules name one metric, the later is served: backlog: externalRules[2] (series backlog_b) is served, replacing externalRules[1] (series backlog_a)',
        'two rules name one metric, the later is served: namespaces/jobs_pending: rules[2] (series jobs_pending_total) is served, replacing rules[0] (series jobs_pending)',
        'two rules name one metric, the later is served: namespaces/queue_depth: rules[1] (series queue_b_depth) is served, replacing rules[1] (series queue_a_depth)',
        'two rules name one metric, the later is served: pods/jobs_pending: rules[2] (series jobs_pending_total) is served, replacing rules[0] (series jobs_pending)',
        'two rules name one metric, the later is served: pods/queue_depth: rules[1] (series queue_b_depth) is served, replacing rules[1] (series queue_a_depth)',
      ]);
      assert.ok(collisions.every((l) => l.level === 'warn'));
    });

    it('explain shows the collisions per series, in a summary, and for the metric asked about', async () => {
      const configPath = join(dir, 'rules.yaml');
      await writeFile(configPath, RULES);
      const out = new PassThrough();
      let text = '';
      out.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      const common = ['--config', configPath, '--prometheus-url', prometheus.url, '--time', String(T)];
      assert.equal(await runExplain([...common, 'jobs_pending', '--namespace', 'default'], out), 0, text);
      assert.ok(
        text.includes(
          '  jobs_pending{namespace,pod}  → jobs_pending on namespaces, pods\n      collision: namespaces/jobs_pending: rules[2] (series jobs_pending_total) is served, replacing rules[0] (series jobs_pending)\n      collision: pods/jobs_pending: rules[2] (series jobs_pending_total) is served, replacing rules[0] (series jobs_pending)\n',
        ),
        text,
      );
      assert.match(text, /^collisions \(5\): two rules name one metric, the later is served:$/m);
      assert.match(text, /^ {2}rule: {4}rules\[2\] \(series jobs_pending_total, object label pod\)$/m);
      assert.match(text, /^ {2}replaces: rules\[0\] \(series jobs_pending\), which names it too$/m);
      assert.match(text, /^ {2}result: {2}\{pod="web-1"\} 2(\.\d+)? at /m);
    });
  });

  describe('NaN', () => {
    it('answers a NaN custom value as 0 by default, as prometheus-adapter does', async () => {
      const { app } = buildTestApp({ backends: [subject.backend] });
      const answer = await request(app).get(
        '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web-1/error_ratio',
      );
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.items[0].value, '0');
      assert.equal(await value('error_ratio', 'web-2', 'default'), 0.25);
    });

    it('answers a NaN external value as 0 by default', async () => {
      assert.deepEqual(await externalValues('queue_error_ratio'), [0]);
    });

    it('leaves a NaN object out under nan: noData, so the HPA gets no value rather than 0', async () => {
      const { app } = buildTestApp({ backends: [subject.backend] });
      const answer = await request(app).get(
        '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web-1/error_ratio_or_nothing',
      );
      assert.equal(answer.status, 404, answer.text);
      assert.match(answer.body.message, /no data for custom metric "error_ratio_or_nothing"/);
      assert.equal(await value('error_ratio_or_nothing', 'web-2', 'default'), 0.25);
    });

    it('explain says a NaN is served as 0, or dropped under nan: noData', async () => {
      const configPath = join(dir, 'nan.yaml');
      await writeFile(configPath, RULES);
      const explain = async (...args: string[]) => {
        const out = new PassThrough();
        let text = '';
        out.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        const argv = ['--config', configPath, '--prometheus-url', prometheus.url, '--time', String(T), ...args];
        return { code: await runExplain(argv, out), text };
      };
      const zero = await explain('error_ratio', '--namespace', 'default', '--name', 'web-1');
      assert.equal(zero.code, 0, zero.text);
      assert.match(zero.text, /result: {2}\{pod="web-1"\} NaN at .* \(NaN: served as 0, see the rule`s nan\)/);
      const dropped = await explain('error_ratio_or_nothing', '--namespace', 'default', '--name', 'web-1');
      assert.equal(dropped.code, 1, dropped.text);
      assert.match(dropped.text, /\(NaN, the rule has nan: noData: dropped, never served\)/);
    });

    it('never serves an infinite value, whatever the rule says of NaN', async () => {
      const { app } = buildTestApp({ backends: [subject.backend] });
      const answer = await request(app).get(
        '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web-1/saturation',
      );
      // Unusable, as a malformed answer is: a 503 saying why (the failure policy may serve the last good value).
      assert.equal(answer.status, 503, answer.text);
      assert.match(answer.body.message, /answered \+Inf for series \{pod="web-1"\}/);
    });
  });

  describe('namespaced in discovery', () => {
    it('announces a custom metric namespaced unless its resource is root-scoped, whatever labels its series has', async () => {
      const { app } = buildTestApp({ backends: [subject.backend] });
      const list = await request(app).get('/apis/custom.metrics.k8s.io/v1beta1');
      assert.equal(list.status, 200, list.text);
      const scope = Object.fromEntries(
        (list.body.resources as { name: string; namespaced: boolean }[]).map((r) => [r.name, r.namespaced]),
      );
      assert.equal(scope['pods/worker_busy'], true, 'a pod series without a namespace label: still namespaced');
      assert.equal(scope['pods/jobs_pending'], true);
      assert.equal(scope['namespaces/jobs_pending'], false);
      assert.equal(scope['nodes/node_temperature'], false);
      assert.equal(scope['persistentvolumes/volume_fill'], false);
      // prometheus-adapter names only namespaces, nodes and persistentvolumes root-scoped; every
      // other root-scoped resource is announced as the cluster serves it (see docs/migrating-from-prometheus-adapter.md).
      assert.equal(scope['storageclasses.storage.k8s.io/class_iops'], false);
    });

    it('serves the namespace-less pod series at the namespaced path the HPA asks', async () => {
      const { app } = buildTestApp({ backends: [subject.backend] });
      const answer = await request(app).get(
        '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/worker-1/worker_busy',
      );
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.items[0].value, '1');
    });
  });
});
