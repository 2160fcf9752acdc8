import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import type { HpaSummary } from '../../src/kube/hpa-informer.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { ExternalMetricsProvider } from '../../src/providers/provider.js';
import { HpaRefresher } from '../../src/refresh/hpa-refresher.js';
import { turnCounter } from '../support/loop-turns.js';
import { unaskedCustomProvider } from '../support/provider-stubs.js';

const HPAS = 40;

function hpa(i: number): HpaSummary {
  return {
    namespace: 'default',
    name: `worker-${i}`,
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `worker-${i}` },
    metrics: [{ type: 'External', metric: { name: 'queue_depth', selector: { matchLabels: { queue: `q-${i}` } } } }],
  } as HpaSummary;
}

describe('HPA-aware refresh gives the event loop back between refreshes', () => {
  it('starts one refresh per event-loop turn, so polls arriving meanwhile wait behind one, not a tick’s worth', async () => {
    const turns = turnCounter();
    const callsPerTurn = new Map<number, number>();
    const external: ExternalMetricsProvider = {
      // Answered at once, as a value still in the cache is: nothing but the refresher gives the loop back.
      getExternalMetric: (request) => {
        callsPerTurn.set(turns.turn, (callsPerTurn.get(turns.turn) ?? 0) + 1);
        if (request.refresh) request.refresh.expiresAt = Date.now() + 20_000;
        return Promise.resolve([{ labels: {}, value: 1, timestamp: new Date() }]);
      },
      listExternalMetrics: () => [{ metric: 'queue_depth' }],
      servesExternal: () => true,
    };
    const refresher = new HpaRefresher({
      hpas: {
        hpas: () => Array.from({ length: HPAS }, (_, i) => hpa(i)),
        subscribe: () => () => undefined,
        health: () => 'serving',
      },
      provider: { ...external, ...unaskedCustomProvider() },
      resources: BUILTIN_RESOURCES,
      logger: silentLogger(),
      registry: new Registry(),
      // The timer never fires: the one run is the warm-up's.
      timers: { set: () => 1, clear: () => undefined },
    });
    try {
      refresher.start();
      assert.equal(await refresher.warmUp(60_000), true);
    } finally {
      turns.stop();
      await refresher.close();
    }
    const calls = [...callsPerTurn.values()];
    assert.equal(
      calls.reduce((sum, n) => sum + n, 0),
      HPAS,
      'every read refreshed once',
    );
    assert.equal(Math.max(...calls), 1, `refreshes started in one turn: ${Math.max(...calls)}`);
  });
});
