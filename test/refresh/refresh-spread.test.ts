import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hpaObject } from '../support/hpa-objects.js';
import { gauge } from '../support/prometheus-server.js';
import { QUEUE_DEPTH_CONFIG } from '../support/refresh-replica.js';
import { refreshSuite } from '../support/refresh-suite.js';

const HPAS = 120;
const TTL_MS = 20_000;
const TICK_MS = 50; // startRefreshReplica's tick
// The Lease tests' config with the default TTL's length: 390 ticks in which 120 reads can spread.
const CONFIG = QUEUE_DEPTH_CONFIG.replace('ttl: 2s', 'ttl: 20s');
const queue = (i: number) => `q-${String(i).padStart(3, '0')}`;

describe('HPA-aware refresh spreads the refreshes of reads loaded together', () => {
  const suite = refreshSuite((range) =>
    Array.from({ length: HPAS }, (_, i) =>
      gauge('broker_queue_depth', { namespace: 'default', queue: queue(i) }, i, range),
    ),
  );

  it('reads warmed up in one go are next due over the TTL, not all in the same few ticks', async () => {
    assert.notEqual(CONFIG, QUEUE_DEPTH_CONFIG);
    for (let i = 0; i < HPAS; i++) {
      suite.double.watch.put(
        hpaObject('default', `hpa-${i}`, [{ type: 'External', name: 'queue_depth', matchLabels: { queue: queue(i) } }]),
      );
    }
    const replica = await suite.startReplica(CONFIG);
    assert.equal(await replica.refresher.warmUp(60_000), true);
    const due = replica.refresher.kept().map((kept) => kept.dueAt);
    assert.equal(due.length, HPAS);
    // Due together, they would all be refreshed in the ticks the warm-up took, every TTL, while
    // HPA polls wait behind them. Spread uniformly over the TTL, 120 reads fall in ~100 of its 390 ticks.
    const ticks = new Set(due.map((at) => Math.floor(at / TICK_MS)));
    const span = Math.max(...due) - Math.min(...due);
    assert.ok(ticks.size >= 60, `the ${HPAS} reads are next due in ${ticks.size} ticks of ${TICK_MS} ms`);
    assert.ok(span >= TTL_MS / 4, `the ${HPAS} reads are next due within ${span} ms`);
  });
});
