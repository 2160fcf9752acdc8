import { setImmediate as nextTurn } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { createQueryCache } from '../../src/cache/lru-query-cache.js';
import type { CacheCaller } from '../../src/cache/query-cache.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import { ANSWER_SHAPES, type AnswerShape, prometheusAnswer } from './prometheus-answers.js';

/**
 * Run in a process of its own with --expose-gc, so that the heap it reports is the cache's alone:
 *
 *   node --expose-gc --import tsx test/support/cache-heap-fill.ts 20000 onePod threePods,rawGauges
 *
 * For each mix of ANSWER_SHAPES named, in turn: fills a new createQueryCache, full at
 * `maxEntries`, with that many Prometheus answers taking the mix's shapes in turn, and prints one
 * JSON line: process.memoryUsage() before the cache was made and after it was filled (each after
 * full collections), and the bytes the cache charged for its entries (what maxBytes bounds).
 * Each cache is closed and collected before the next is made. Used by
 * test/cache/entry-size.test.ts and bench (c).
 */
export interface CacheHeapReport {
  entries: number;
  shapes: string[];
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
  chargedBytes: number;
}

const USAGE = 'usage: cache-heap-fill.ts ENTRIES SHAPE[,SHAPE…] [SHAPE[,SHAPE…] …]';
const entries = Number(process.argv[2]);
if (!Number.isSafeInteger(entries) || entries <= 0) throw new Error(USAGE);
const mixes = process.argv.slice(3).map((mix) => mix.split(','));
if (mixes.length === 0) throw new Error(USAGE);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const collect = gc;

function shapeNamed(name: string): AnswerShape {
  if (!Object.hasOwn(ANSWER_SHAPES, name)) throw new Error(`unknown answer shape "${name}"`);
  return ANSWER_SHAPES[name as keyof typeof ANSWER_SHAPES];
}

/** Memory once garbage is gone: several full collections, with turns between for weak callbacks. */
async function settled(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 4; i++) {
    collect();
    await nextTurn();
  }
  return process.memoryUsage();
}

async function fill(shapeNames: string[], registry: Registry, caller: CacheCaller): Promise<CacheHeapReport> {
  const shapes = shapeNames.map(shapeNamed);
  const before = await settled();
  const cache = createQueryCache(
    'prometheus',
    { ttlMs: 3_600_000, maxStaleMs: 0, negativeTtlMs: 0, maxEntries: entries, maxBytes: 2 ** 40 },
    { registry },
  );
  for (let i = 0; i < entries; i++) {
    const { key, value } = prometheusAnswer(i, shapes[i % shapes.length] as AnswerShape);
    await cache.fetch(key, async () => value, caller);
  }
  const after = await settled();
  const stats = cache.stats();
  cache.close();
  if (stats.entries !== entries) throw new Error(`the cache held ${stats.entries} entries, expected ${entries}`);
  return { entries, shapes: shapeNames, before, after, chargedBytes: stats.bytes };
}

const registry = new Registry();
const caller = { deadline: deadlineOf(new AbortController().signal) };
for (const mix of mixes) console.log(JSON.stringify(await fill(mix, registry, caller)));
