import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { markCachedEntry, withEntrySlot } from '../src/cache/entry-identity.js';

/**
 * Alone, not a section: what marking each stored value with the cache's entry identity costs
 * under (b)'s churn. 10,000 keys, each replaced in turn by a new one-sample answer, the old one
 * dropped. `--mode=slot` marks as the cache does now (markCachedEntry in
 * src/cache/entry-identity.ts, the answer given its slot and frozen first, as servedSamples does);
 * `--mode=weakset` adds each new value and its element to one WeakSet, as the cache did until
 * then; `--mode=alloc` allocates as much in the same place instead. Prints the mean time of that
 * step and its slowest calls: the values outlive young-generation GCs, so only a full GC takes
 * dead ones out of a weak table, which grows meanwhile and is rehashed in one call.
 *
 *   node --import tsx bench/weak-set-churn.ts [--mode=slot|weakset|alloc] [--rounds=40]
 */

const { values } = parseArgs({ options: { mode: { type: 'string' }, rounds: { type: 'string' } } });
const mode = values.mode ?? 'slot';
const rounds = Number(values.rounds ?? 40);
const KEYS = 10_000;

const marked = new WeakSet<object>();
const cache = new Map<number, object>();
const slowMs: number[] = [];
let totalMs = 0;
for (let round = 0; round < rounds; round++) {
  for (let key = 0; key < KEYS; key++) {
    const value = [{ labels: { queue: `q-${key}` }, value: Math.random(), timestamp: new Date() }];
    // The rest of a load's garbage: the backend's parsed JSON answer.
    JSON.parse(`{"status":"success","data":{"result":[{"metric":{"queue":"q-${key}"},"value":[1,"${key}"]}]}}`);
    const started = performance.now();
    if (mode === 'slot') {
      for (const sample of withEntrySlot(value)) Object.freeze(sample);
      markCachedEntry(Object.freeze(value));
    } else if (mode === 'weakset') {
      marked.add(value);
      marked.add(value[0] as object);
    } else {
      cache.set(-key - 1, [{ a: key }, { b: key }]);
    }
    const ms = performance.now() - started;
    totalMs += ms;
    if (ms > 2) slowMs.push(ms);
    cache.set(key, value);
  }
}
slowMs.sort((a, b) => b - a);
console.log(
  JSON.stringify({
    mode,
    values: rounds * KEYS,
    meanMicros: Math.round((totalMs / (rounds * KEYS)) * 1000 * 100) / 100,
    callsOver2Ms: slowMs.length,
    slowestMs: slowMs.slice(0, 8).map((ms) => Math.round(ms * 10) / 10),
  }),
);
