import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { watchDefinitions } from '../../src/definitions/definition-watch.js';
import { DefinitionsBackend } from '../../src/definitions/definitions-backend.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { DEFAULT_INFORMER_TIMINGS, type InformerTimings } from '../../src/kube/list-watch-informer.js';
import { KubeTransport } from '../../src/kube/transport.js';
import { passThroughCache, testBackendContext } from '../support/backend-context.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { definitionObject, definitionsConfigFor } from '../support/definitions.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../support/kube-apiserver-double.js';

/**
 * The MetricDefinition watch against the kube-apiserver double when the cluster has no CRD
 * (404 on the LIST, as kube-apiserver answers for a resource it does not know) or the adapter
 * has no RBAC for it (403 with kube-apiserver's Status): it says so once in the log and in
 * hpa_metrics_adapter_definitions_watch, tries again with backoff, and serves the definitions
 * once the CRD or the RBAC arrives.
 */
const CRD = 'metricdefinitions.hpa-metrics-adapter.io';
const FAST: InformerTimings = {
  ...DEFAULT_INFORMER_TIMINGS,
  backoffInitialMs: 20,
  backoffMaxMs: 100,
  forbiddenRetryMs: 100,
};

const definition = (name: string) => definitionObject('team-a', name, { prometheus: { query: 'sum(up)' } });

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the MetricDefinition watch without the CRD or without RBAC', () => {
  let double: KubeApiserverDouble;
  let running: { close(): Promise<void>; state(): string } | undefined;
  let backend: DefinitionsBackend | undefined;

  before(async () => {
    double = await startKubeApiserverDouble();
  });
  after(() => double.close());
  afterEach(async () => {
    await running?.close();
    await backend?.close();
    double.missingResources.clear();
    double.forbiddenResources.clear();
    for (const name of ['jobs', 'other']) double.watch.remove({ ...definition(name) });
  });

  function start() {
    const loaded = loadKubeConfig(double.kubeconfigPath);
    assert.ok(loaded);
    const registry = new Registry();
    const { logger, lines } = capturingLogger();
    const context = testBackendContext({ registry, logger });
    backend = new DefinitionsBackend(definitionsConfigFor(), {
      env: { ...context, cacheFor: () => passThroughCache() },
      logger,
      settleMs: 10,
    });
    running = watchDefinitions({
      transport: new KubeTransport(loaded.kubeConfig),
      backend,
      logger,
      registry,
      maxTotal: () => 100,
      timings: FAST,
    });
    const watchState = async () =>
      (await registry.getSingleMetric('hpa_metrics_adapter_definitions_watch')?.get())?.values
        .filter((v) => v.value === 1)
        .map((v) => v.labels.state);
    const warnings = () => lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => String(l.msg));
    return { backend, watch: running, watchState, warnings };
  }

  it('without the CRD: 404 on every LIST, said once, retried with backoff; served once the CRD is installed', async () => {
    double.missingResources.add(CRD);
    double.watch.put(definition('jobs'));
    const listsBefore = double.calls.objects;
    const { backend, watch, watchState, warnings } = start();
    await until(() => double.calls.objects - listsBefore >= 4, 'four LISTs');
    assert.equal(watch.state(), 'crd_missing');
    assert.deepEqual(await watchState(), ['crd_missing']);
    assert.equal(warnings().length, 1, warnings().join('\n'));
    assert.match(warnings()[0] ?? '', /CRD is not installed/);
    assert.equal(backend.external.servesExternal('jobs'), false);

    double.missingResources.delete(CRD);
    await until(() => backend.external.servesExternal('jobs'), 'the definition served');
    assert.equal(watch.state(), 'serving');
    assert.deepEqual(await watchState(), ['serving']);
    assert.equal(warnings().length, 1, warnings().join('\n'));
  });

  it('a CRD deleted while watched: its definitions are no longer served, the watch says crd_missing once', async () => {
    double.watch.put(definition('jobs'));
    const { backend, watch, watchState, warnings } = start();
    await until(() => backend.external.servesExternal('jobs'), 'the definition served');
    // kube-apiserver deletes a CRD's objects, then the resource: its watches end, and it is 404 from then on.
    double.missingResources.add(CRD);
    double.watch.endWatches();
    await until(() => watch.state() === 'crd_missing', 'crd_missing');
    await until(() => !backend.external.servesExternal('jobs'), 'the definition no longer served');
    assert.deepEqual(await watchState(), ['crd_missing']);
    assert.equal(warnings().length, 1, warnings().join('\n'));
    assert.match(warnings()[0] ?? '', /CRD is not installed/);

    double.missingResources.delete(CRD);
    await until(() => backend.external.servesExternal('jobs'), 'served again once the CRD is back');
    assert.equal(watch.state(), 'serving');
  });

  it('without RBAC: 403 with the API server Status, said once, retried; served once RBAC allows the watch', async () => {
    double.forbiddenResources.add(CRD);
    double.watch.put(definition('jobs'));
    const listsBefore = double.calls.objects;
    const { backend, watch, watchState, warnings } = start();
    await until(() => double.calls.objects - listsBefore >= 3, 'three LISTs');
    assert.equal(watch.state(), 'forbidden');
    assert.deepEqual(await watchState(), ['forbidden']);
    assert.equal(warnings().length, 1, warnings().join('\n'));
    assert.match(warnings()[0] ?? '', /RBAC does not allow watching MetricDefinitions/);
    assert.equal(backend.external.servesExternal('jobs'), false);

    double.forbiddenResources.delete(CRD);
    await until(() => backend.external.servesExternal('jobs'), 'the definition served');
    assert.equal(watch.state(), 'serving');
    assert.deepEqual(await watchState(), ['serving']);
  });
});
