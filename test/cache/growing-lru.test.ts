import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { GrowingLru } from '../../src/cache/growing-lru.js';
import { createQueryCache, type OwnedQueryCache } from '../../src/cache/lru-query-cache.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use once garbage is gone. */
async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await nextTurn();
  }
  return process.memoryUsage().heapUsed;
}

describe('GrowingLru', () => {
  it('holds at most maxEntries, evicting the least recently used with reason evict', () => {
    const evicted: string[] = [];
    const lru = new GrowingLru<string, number>(3, {
      maxSize: 1_000,
      sizeCalculation: () => 1,
      dispose: (_value, key, reason) => evicted.push(`${key}:${reason}`),
    });
    for (const key of ['a', 'b', 'c']) lru.set(key, 1);
    lru.get('a');
    lru.set('d', 1);
    lru.set('e', 1);
    assert.equal(lru.size, 3);
    assert.deepEqual([...lru.keys()].sort(), ['a', 'd', 'e']);
    assert.deepEqual(evicted, ['b:evict', 'c:evict']);
  });

  it('keeps its maxSize bound too', () => {
    const lru = new GrowingLru<string, number>(100, { maxSize: 10, sizeCalculation: (value) => value });
    for (let i = 0; i < 10; i++) lru.set(`k${i}`, 4);
    assert.ok(lru.calculatedSize <= 10);
    assert.equal(lru.size, 2);
  });

  it('allocates nothing for the entries a query cache has not stored: 200 empty caches of 10,000 entries', async () => {
    const registry = new Registry();
    const settings = { ttlMs: 30_000, maxStaleMs: 0, negativeTtlMs: 0, maxEntries: 10_000 };
    const before = await settledHeap();
    const caches: OwnedQueryCache[] = [];
    for (let i = 0; i < 200; i++) caches.push(createQueryCache(`prometheus:s${i}`, settings, { registry }));
    const perCache = ((await settledHeap()) - before) / caches.length;
    for (const cache of caches) cache.close();
    // lru-cache's `max` allocated ~250 KB per cache up front (500 servers: 130 MB before any answer).
    assert.ok(perCache < 50_000, `an empty cache holds ${Math.round(perCache / 1024)} KiB of heap`);
  });
});
