import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import type { ResourceResolver } from '../../src/api/resource-table.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import type { InformerTimings } from '../../src/kube/list-watch-informer.js';
import type { ObjectCaps } from '../../src/kube/object-caps.js';
import { createObjectInformers, type ObjectInformers } from '../../src/kube/object-informers.js';
import type { ResourceRef } from '../../src/kube/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../support/kube-apiserver-double.js';

const PODS: ResourceRef = { group: '', version: 'v1', resource: 'pods' };
const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', resource: 'deployments' };
const FAST: Partial<InformerTimings> = { backoffInitialMs: 20, backoffMaxMs: 100, forbiddenRetryMs: 60_000 };

const pod = (name: string, labels: Record<string, string>, namespace = 'default') => ({
  ...PODS,
  namespace,
  name,
  labels,
});

describe('object informers: selector requests from watched metadata', () => {
  let double: KubeApiserverDouble;
  let informers: ObjectInformers | undefined;
  let registry: Registry;
  let logLines: string[];

  before(async () => {
    double = await startKubeApiserverDouble();
  });
  after(() => double.close());
  afterEach(async () => {
    await informers?.close();
    informers = undefined;
    double.failures.clear();
    double.objects.length = 0;
    double.watch.endAtOnce = false;
    double.watch.sendGarbage = false;
  });

  function start(
    options: {
      watchResources?: string[];
      timings?: Partial<InformerTimings>;
      resources?: ResourceResolver;
      caps?: Partial<ObjectCaps>;
      listPageSize?: number;
      now?: () => number;
    } = {},
  ): ObjectInformers {
    const loaded = loadKubeConfig(double.kubeconfigPath);
    assert.ok(loaded);
    registry = new Registry();
    logLines = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    informers = createObjectInformers(loaded.kubeConfig, {
      logger: createLogger('info', sink),
      registry,
      watchResources: options.watchResources ?? ['*'],
      timings: { ...FAST, ...options.timings },
      ...(options.resources ? { resources: options.resources } : {}),
      ...(options.caps ? { caps: options.caps } : {}),
      ...(options.listPageSize ? { listPageSize: options.listPageSize } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    return informers;
  }

  async function names(lister: ObjectInformers, selector: string) {
    return (await lister.listObjects(PODS, 'default', selector)).map((o) => o.name);
  }

  /** Until the pods informer serves and has seen every change the double made. */
  async function caughtUp(lister: ObjectInformers): Promise<void> {
    await waitUntil(() => {
      const informer = lister.informer(PODS);
      return informer?.health() === 'serving' && informer.resourceVersion === double.watch.resourceVersion;
    });
  }

  async function metric(name: string, labels: Record<string, string>): Promise<number | undefined> {
    const found = (await registry.getSingleMetric(name)?.get())?.values.find((v) =>
      Object.entries(labels).every(([k, value]) => v.labels[k] === value),
    );
    return found?.value;
  }

  it('answers the first request by a metadata-only LIST, then from the index with no further LIST', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    double.watch.put(pod('web-2', { app: 'web', tier: 'front' }));
    double.watch.put(pod('db-1', { app: 'db' }));
    double.watch.put(pod('web-9', { app: 'web' }, 'other'));
    const lister = start();
    const lists = double.calls.objects;
    assert.deepEqual(await names(lister, 'app=web'), ['web-1', 'web-2']);
    assert.equal(await metric('hpa_metrics_adapter_informer_list_fallbacks_total', { reason: 'not_synced' }), 1);
    await caughtUp(lister);
    const afterSync = double.calls.objects;
    assert.equal(afterSync - lists, 2, 'one fallback LIST and the informer LIST');
    assert.match(double.lastObjectAccept ?? '', /^application\/json;as=PartialObjectMetadata;g=meta\.k8s\.io;v=v1/);
    for (let i = 0; i < 50; i++) {
      assert.deepEqual(await names(lister, 'app=web'), ['web-1', 'web-2']);
      assert.deepEqual(await names(lister, 'app=web,tier!=front'), ['web-1']);
      assert.deepEqual(await names(lister, 'app in (db,web),!tier'), ['db-1', 'web-1']);
      assert.deepEqual(await names(lister, ''), ['db-1', 'web-1', 'web-2']);
    }
    const everywhere = await lister.listObjects(PODS, undefined, 'app=web');
    assert.deepEqual(
      everywhere.map((o) => `${o.namespace}/${o.name}`),
      ['default/web-1', 'default/web-2', 'other/web-9'],
    );
    assert.equal(double.calls.objects, afterSync, 'no LIST after sync');
    assert.equal(await metric('hpa_metrics_adapter_informer_objects', { resource: 'pods' }), 4);
    assert.equal(await metric('hpa_metrics_adapter_informer_relists_total', { reason: 'initial' }), 1);
  });

  it('hands out the same frozen answer again until an object of that namespace changes', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    double.watch.put(pod('web-9', { app: 'web' }, 'other'));
    const lister = start();
    await lister.listObjects(PODS, 'default', 'app=web');
    await caughtUp(lister);
    const first = await lister.listObjects(PODS, 'default', 'app=web');
    assert.ok(Object.isFrozen(first));
    assert.equal(await lister.listObjects(PODS, 'default', 'app=web'), first);
    double.watch.put(pod('web-10', { app: 'web' }, 'other'));
    await caughtUp(lister);
    assert.equal(await lister.listObjects(PODS, 'default', 'app=web'), first, 'another namespace changed');
    const everywhere = await lister.listObjects(PODS, undefined, 'app=web');
    assert.equal(everywhere.length, 3);
    double.watch.put(pod('web-1', { app: 'web', tier: 'front' }));
    await caughtUp(lister);
    const after = await lister.listObjects(PODS, 'default', 'app=web');
    assert.notEqual(after, first);
    assert.deepEqual(after[0]?.labels, { app: 'web', tier: 'front' });
    assert.notEqual(await lister.listObjects(PODS, undefined, 'app=web'), everywhere);
  });

  it('the fallback LIST asks for PartialObjectMetadataList, never full objects', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    const lister = start({ watchResources: ['deployments.apps'] });
    assert.deepEqual(await names(lister, 'app=web'), ['web-1']);
    assert.match(double.lastObjectAccept ?? '', /^application\/json;as=PartialObjectMetadataList;g=meta\.k8s\.io;v=v1/);
    assert.equal(lister.informer(PODS), undefined, 'pods are not watched when the option leaves them out');
    assert.equal(await metric('hpa_metrics_adapter_informer_list_fallbacks_total', { reason: 'not_watched' }), 1);
    await lister.listObjects(DEPLOYMENTS, 'default', '');
    assert.ok(lister.informer(DEPLOYMENTS), 'a listed resource starts its informer on first use');
  });

  it('--watch-resources takes the names kubectl takes, resolved as the cluster resolves them', async () => {
    const lister = start({ watchResources: ['deploy', 'po'], resources: BUILTIN_RESOURCES });
    await lister.listObjects(DEPLOYMENTS, 'default', '');
    await lister.listObjects(PODS, 'default', '');
    await lister.listObjects({ group: '', version: 'v1', resource: 'services' }, 'default', '');
    assert.ok(lister.informer(DEPLOYMENTS), '"deploy" is deployments.apps');
    assert.ok(lister.informer(PODS), '"po" is pods');
    assert.equal(lister.informer({ group: '', version: 'v1', resource: 'services' }), undefined);
  });

  it('follows pod create, relabel and delete within one watch event each', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    const lister = start();
    await lister.listObjects(PODS, 'default', 'app=web');
    await caughtUp(lister);
    double.watch.put(pod('web-2', { app: 'web' }));
    await caughtUp(lister);
    assert.deepEqual(await names(lister, 'app=web'), ['web-1', 'web-2']);
    double.watch.put(pod('web-1', { app: 'canary' }));
    await caughtUp(lister);
    assert.deepEqual(await names(lister, 'app=web'), ['web-2']);
    assert.deepEqual(await names(lister, 'app=canary'), ['web-1']);
    double.watch.remove(pod('web-2', {}));
    await caughtUp(lister);
    assert.deepEqual(await names(lister, 'app=web'), []);
    assert.equal(await metric('hpa_metrics_adapter_informer_objects', { resource: 'pods' }), 1);
    assert.ok(
      (await metric('hpa_metrics_adapter_informer_last_event_age_seconds', { resource: 'pods' })) !== undefined,
    );
  });

  it('a cut watch resumes from its last resourceVersion without losing the changes made meanwhile', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    const lister = start();
    await lister.listObjects(PODS, 'default', '');
    await caughtUp(lister);
    await waitUntil(() => double.watch.openWatches === 1);
    const watches = double.calls.watches;
    double.failures.set('watches', 503);
    double.watch.cutWatches();
    double.watch.put(pod('web-2', { app: 'web' }));
    double.watch.remove(pod('web-1', {}));
    await waitUntil(() => double.calls.watches > watches + 1, 3000);
    double.failures.clear();
    await caughtUp(lister);
    assert.deepEqual(await names(lister, 'app=web'), ['web-2']);
    assert.equal(await metric('hpa_metrics_adapter_informer_relists_total', { reason: 'initial' }), 1);
    assert.equal(await metric('hpa_metrics_adapter_informer_relists_total', { reason: 'expired' }), undefined);
    assert.ok(((await metric('hpa_metrics_adapter_informer_watch_restarts_total', { reason: 'error' })) ?? 0) >= 1);
  });

  it('relists on 410 Expired when the history no longer reaches its resourceVersion', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    const lister = start();
    await lister.listObjects(PODS, 'default', '');
    await caughtUp(lister);
    double.failures.set('watches', 503);
    double.watch.cutWatches();
    double.watch.put(pod('web-3', { app: 'web' }));
    double.watch.compact();
    double.failures.clear();
    await caughtUp(lister);
    assert.deepEqual(await names(lister, 'app=web'), ['web-1', 'web-3']);
    assert.equal(await metric('hpa_metrics_adapter_informer_relists_total', { reason: 'expired' }), 1);
    assert.equal(await metric('hpa_metrics_adapter_informer_watch_restarts_total', { reason: 'expired' }), 1);
  });

  it('relists when the watch request itself is answered 410 Gone', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    const lister = start();
    await lister.listObjects(PODS, 'default', '');
    await caughtUp(lister);
    double.failures.set('watches', 410);
    double.watch.cutWatches();
    double.watch.put(pod('web-2', { app: 'web' }));
    await waitUntil(
      async () => ((await metric('hpa_metrics_adapter_informer_relists_total', { reason: 'expired' })) ?? 0) >= 1,
    );
    double.failures.clear();
    await caughtUp(lister);
    assert.deepEqual(await names(lister, 'app=web'), ['web-1', 'web-2']);
  });

  it('re-watches without a relist when the server ends the watch at its timeout', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    const lister = start({ timings: { minWatchTimeoutSeconds: 1 } });
    await lister.listObjects(PODS, 'default', '');
    await caughtUp(lister);
    await waitUntil(
      async () => ((await metric('hpa_metrics_adapter_informer_watch_restarts_total', { reason: 'closed' })) ?? 0) >= 1,
      5000,
    );
    double.watch.put(pod('web-2', { app: 'web' }));
    await caughtUp(lister);
    assert.deepEqual(await names(lister, 'app=web'), ['web-1', 'web-2']);
    assert.equal(await metric('hpa_metrics_adapter_informer_relists_total', { reason: 'initial' }), 1);
  });

  it('re-watches on the same kept-alive connection every time the server ends the watch, leaking nothing', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const lister = start();
      await lister.listObjects(PODS, 'default', '');
      await caughtUp(lister);
      const connections = double.connections;
      for (let i = 0; i < 15; i++) {
        await waitUntil(() => double.watch.openWatches === 1);
        double.watch.endWatches();
        double.watch.put(pod(`web-${i + 2}`, { app: 'web' }));
        await caughtUp(lister);
      }
      assert.equal((await names(lister, 'app=web')).length, 16);
      assert.equal(await metric('hpa_metrics_adapter_informer_watch_restarts_total', { reason: 'closed' }), 15);
      assert.equal(await metric('hpa_metrics_adapter_informer_relists_total', { reason: 'initial' }), 1);
      assert.ok(double.connections - connections <= 1, 'the watches reuse a kept-alive connection');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.map((w) => w.message),
        [],
        'no MaxListenersExceededWarning from listeners left on a reused socket',
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('meets a server that ends every watch at once with a backoff, not a tight loop', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    const lister = start({ timings: { backoffInitialMs: 100, backoffMaxMs: 400 } });
    await lister.listObjects(PODS, 'default', '');
    await caughtUp(lister);
    double.watch.endAtOnce = true;
    try {
      double.watch.endWatches();
      const watches = double.calls.watches;
      await new Promise((r) => setTimeout(r, 1500));
      const rewatches = double.calls.watches - watches;
      // 100, 200, 400, 400 … ms (±50 %): at most about eight in 1.5 s; without pacing, hundreds.
      assert.ok(rewatches >= 2 && rewatches <= 12, `${rewatches} watches in 1.5 s`);
      assert.equal(lister.informer(PODS)?.health(), 'serving', 'within the failure tolerance');
    } finally {
      double.watch.endAtOnce = false;
    }
  });

  it('a watch forbidden by RBAC falls back to LIST per request, logs once and shows it in /metrics', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    double.failures.set('watches', 403);
    const lister = start();
    await lister.listObjects(PODS, 'default', '');
    await waitUntil(() => lister.informer(PODS)?.health() === 'watch_forbidden');
    const lists = double.calls.objects;
    double.watch.put(pod('web-2', { app: 'web' }));
    assert.deepEqual(await names(lister, 'app=web'), ['web-1', 'web-2'], 'the LIST sees what the index cannot');
    assert.deepEqual(await names(lister, 'app=web'), ['web-1', 'web-2']);
    assert.equal(double.calls.objects, lists + 2, 'one LIST per request');
    assert.equal(await metric('hpa_metrics_adapter_informer_list_fallbacks_total', { reason: 'watch_forbidden' }), 2);
    assert.equal(
      await metric('hpa_metrics_adapter_informer_serving', { resource: 'pods', state: 'watch_forbidden' }),
      0,
    );
    assert.match(
      await registry.metrics(),
      /hpa_metrics_adapter_informer_serving\{resource="pods",state="watch_forbidden"\} 0/,
    );
    const warnings = logLines.filter((l) => l.includes('watch forbidden by RBAC'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /"resource":"pods"/);
  });

  it('trusts a failing watch for failureToleranceMs, then falls back to LIST until it recovers', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    // The informer's clock runs ahead when the test says the tolerance is over: with a 300 ms
    // tolerance on the wall clock, a unit run starved of CPU for 300 ms between the watch failing
    // and the request "within the tolerance" saw it over already, and that request made a LIST.
    const toleranceMs = 60_000;
    let ahead = 0;
    const lister = start({ timings: { failureToleranceMs: toleranceMs }, now: () => Date.now() + ahead });
    await lister.listObjects(PODS, 'default', '');
    await caughtUp(lister);
    double.failures.set('watches', 500);
    double.watch.cutWatches();
    await waitUntil(
      async () => ((await metric('hpa_metrics_adapter_informer_watch_restarts_total', { reason: 'error' })) ?? 0) >= 1,
    );
    const lists = double.calls.objects;
    assert.deepEqual(await names(lister, 'app=web'), ['web-1'], 'within the tolerance: still the index');
    assert.equal(double.calls.objects, lists);
    assert.equal(lister.informer(PODS)?.health(), 'serving', 'within the tolerance: still serving');
    ahead += toleranceMs + 1;
    assert.equal(lister.informer(PODS)?.health(), 'watch_failing', 'the tolerance is over');
    assert.deepEqual(await names(lister, 'app=web'), ['web-1']);
    assert.equal(double.calls.objects, lists + 1, 'beyond it: a LIST');
    assert.equal(await metric('hpa_metrics_adapter_informer_list_fallbacks_total', { reason: 'watch_failing' }), 1);
    double.failures.clear();
    // An accepted watch is not yet a working one: the bookmark the API server sends is.
    await waitUntil(() => double.watch.openWatches === 1, 3000);
    assert.equal(lister.informer(PODS)?.health(), 'watch_failing');
    double.watch.bookmark();
    await caughtUp(lister);
    await names(lister, 'app=web');
    assert.equal(double.calls.objects, lists + 1, 'recovered: the index again');
  });

  for (const misbehaving of ['endAtOnce', 'sendGarbage'] as const) {
    it(`watches that ${misbehaving === 'endAtOnce' ? 'are accepted and end at once' : 'send a line that is not an event'} are failing: after the tolerance a deleted pod leaves the selection, a new one joins`, async () => {
      double.watch.put(pod('web-1', { app: 'web' }));
      double.watch.put(pod('web-2', { app: 'web' }));
      const lister = start({ timings: { failureToleranceMs: 300 } });
      await lister.listObjects(PODS, 'default', '');
      await caughtUp(lister);
      await waitUntil(() => double.watch.openWatches === 1);
      double.watch[misbehaving] = true;
      double.watch.endWatches();
      double.watch.remove(pod('web-1', {}));
      double.watch.put(pod('web-3', { app: 'web' }));
      await waitUntil(async () => (await names(lister, 'app=web')).join() === 'web-2,web-3', 5000);
      assert.equal(lister.informer(PODS)?.health(), 'watch_failing');
      assert.equal(
        await metric('hpa_metrics_adapter_informer_serving', { resource: 'pods', state: 'watch_failing' }),
        0,
      );
      assert.ok(
        ((await metric('hpa_metrics_adapter_informer_list_fallbacks_total', { reason: 'watch_failing' })) ?? 0) >= 1,
      );
      const reason = misbehaving === 'endAtOnce' ? 'empty' : 'error';
      assert.ok(((await metric('hpa_metrics_adapter_informer_watch_restarts_total', { reason })) ?? 0) >= 1);
      assert.equal(logLines.filter((l) => l.includes('informer watch failed')).length, 1, 'logged once');
      double.watch[misbehaving] = false;
      await caughtUp(lister);
      const lists = double.calls.objects;
      assert.deepEqual(await names(lister, 'app=web'), ['web-2', 'web-3'], 'the watch delivers again: the index');
      assert.equal(double.calls.objects, lists);
    });
  }

  it('a paged LIST past --watch-max-objects: the index is dropped, the state says over_cap, selectors LIST by selector', async () => {
    double.watch.put(pod('web-1', { app: 'web' }));
    double.watch.put(pod('web-2', { app: 'web' }));
    for (let i = 0; i < 60; i++) double.watch.put(pod(`batch-${i}`, { app: 'batch' }));
    const lister = start({ caps: { maxObjects: 25 }, listPageSize: 7 });
    assert.deepEqual(await names(lister, 'app=web'), ['web-1', 'web-2']);
    await waitUntil(() => lister.informer(PODS)?.health() === 'over_cap');
    assert.equal(lister.informer(PODS)?.index.size, 0, 'nothing held');
    assert.equal(await metric('hpa_metrics_adapter_informer_cap_exceeded_total', { cap: 'objects' }), 1);
    assert.equal(await metric('hpa_metrics_adapter_informer_serving', { resource: 'pods', state: 'over_cap' }), 0);
    double.watch.remove(pod('web-1', {}));
    double.watch.put(pod('web-3', { app: 'web' }));
    const lists = double.calls.objects;
    assert.deepEqual(await names(lister, 'app=web'), ['web-2', 'web-3'], 'right, by a LIST by selector');
    assert.equal(double.calls.objects, lists + 1);
    assert.equal(await metric('hpa_metrics_adapter_informer_list_fallbacks_total', { reason: 'over_cap' }), 1);
    await assert.rejects(lister.listObjects(PODS, 'default', 'app=batch'), (error: Error & { code?: number }) => {
      assert.equal(error.code, 503);
      assert.match(error.message, /holds more than 25 objects \(--watch-max-objects\)/);
      return true;
    });
    const warnings = logLines.filter((l) => l.includes('informer over its cap'));
    assert.equal(warnings.length, 1, 'logged once');
    assert.match(warnings[0] ?? '', /"cap":"objects"/);
  });

  it('watch events past --watch-max-label-bytes drop the index too; a label value shared by every pod counts once', async () => {
    const shared = 'x'.repeat(20_000);
    for (let i = 0; i < 20; i++) double.watch.put(pod(`web-${i}`, { app: 'web', build: shared }));
    const lister = start({ caps: { maxLabelBytes: 64 * 1024 }, listPageSize: 7 });
    await lister.listObjects(PODS, 'default', '');
    await caughtUp(lister);
    assert.equal(lister.informer(PODS)?.index.size, 20, '20 × 20 kB of one shared value fits 64 KiB');
    for (let i = 0; i < 5; i++) double.watch.put(pod(`big-${i}`, { app: 'big', blob: `${i}`.repeat(20_000) }));
    await waitUntil(() => lister.informer(PODS)?.health() === 'over_cap');
    assert.equal(lister.informer(PODS)?.index.size, 0);
    assert.equal(await metric('hpa_metrics_adapter_informer_cap_exceeded_total', { cap: 'label_bytes' }), 1);
    assert.equal((await names(lister, 'app=web')).length, 20, 'by a LIST by selector');
    await assert.rejects(
      lister.listObjects(PODS, 'default', 'app=big'),
      /names and labels \(--watch-max-label-bytes\)/,
    );
  });
});

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
