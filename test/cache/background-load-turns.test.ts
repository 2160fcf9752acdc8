import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { turnCounter } from '../support/loop-turns.js';
import { FakeBackend, makeCache, patient } from './fakes.js';

const KEYS = 20;

describe('QueryCache background loads take turns', () => {
  it('starts the refresh-ahead loads of one turn’s hits one per later turn, not all in the next', async () => {
    const { cache, clock } = makeCache({ ttlMs: 15_000, refreshAheadRatio: 0.2 });
    const backend = new FakeBackend((call) => call);
    for (let i = 0; i < KEYS; i++) await cache.fetch(`q${i}`, backend.load, patient());
    clock.advance(13_000);

    const turns = turnCounter();
    const loadsPerTurn = new Map<number, number>();
    const counted = (signal: AbortSignal) => {
      loadsPerTurn.set(turns.turn, (loadsPerTurn.get(turns.turn) ?? 0) + 1);
      return backend.load(signal);
    };
    // The polls of one turn, each a hit in its key's refresh-ahead window.
    await Promise.all(Array.from({ length: KEYS }, (_, i) => cache.fetch(`q${i}`, counted, patient())));
    while (backend.calls < 2 * KEYS && turns.turn < 10 * KEYS) await new Promise((resolve) => setImmediate(resolve));
    turns.stop();

    const loads = [...loadsPerTurn.values()];
    assert.equal(
      loads.reduce((sum, n) => sum + n, 0),
      KEYS,
      'every hit’s refresh ran',
    );
    assert.equal(Math.max(...loads), 1, `refresh-ahead loads started in one turn: ${Math.max(...loads)}`);
  });
});
