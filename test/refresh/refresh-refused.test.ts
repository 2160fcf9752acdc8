import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import type { HpaSummary } from '../../src/kube/hpa-informer.js';
import type { ExternalMetricsProvider } from '../../src/providers/provider.js';
import { HpaRefresher } from '../../src/refresh/hpa-refresher.js';
import { FakeBackend, makeCache, metricValue, patient, settle } from '../cache/fakes.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { unaskedCustomProvider } from '../support/provider-stubs.js';

const HPA = {
  namespace: 'default',
  name: 'worker',
  scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker' },
  metrics: [{ type: 'External', metric: { name: 'queue_depth', selector: { matchLabels: { queue: 'jobs' } } } }],
} as HpaSummary;

describe('HPA-aware refresh turned away by the cache’s load limit', () => {
  it('counts it refused and says so, not a failed refresh', async () => {
    // One load slot and no queue, the slot held by another key's load: the refresh's load is
    // turned away by the cache's limiter before the backend is asked.
    const { cache, registry } = makeCache({ maxConcurrentLoads: 1, maxQueuedLoads: 0 });
    const slow = new FakeBackend(() => 'slow').holds();
    const holding = cache.fetch('other', slow.load, patient());
    await settle();
    const backend = new FakeBackend(() => [{ labels: {}, value: 7, timestamp: new Date() }]);
    const external: ExternalMetricsProvider = {
      getExternalMetric: (request) => cache.fetch(`queue_depth ${request.metricSelector}`, backend.load, request),
      listExternalMetrics: () => [{ metric: 'queue_depth' }],
      servesExternal: () => true,
    };
    const { logger, lines } = capturingLogger();
    const refresher = new HpaRefresher({
      hpas: { hpas: () => [HPA], subscribe: () => () => undefined, health: () => 'serving' },
      provider: { ...external, ...unaskedCustomProvider() },
      resources: BUILTIN_RESOURCES,
      logger,
      registry,
      // The timer never fires: the one run is the warm-up's.
      timers: { set: () => 1, clear: () => undefined },
    });
    try {
      refresher.start();
      await refresher.warmUp(10_000);
    } finally {
      await refresher.close();
      slow.release('slow');
      await holding;
    }
    assert.equal(backend.calls, 0, 'the backend was not asked');
    const refreshes = 'hpa_metrics_adapter_hpa_refreshes_total';
    assert.equal(await metricValue(registry, refreshes, { outcome: 'refused' }), 1);
    assert.equal(await metricValue(registry, refreshes, { outcome: 'error' }), 0);
    const said = lines.map((line) => String(line.msg)).filter((msg) => msg.startsWith('HPA-aware refresh'));
    assert.equal(said.length, 1, said.join('\n'));
    assert.match(said[0] ?? '', /turned away: the backend has all its loads running and queued/);
  });
});
