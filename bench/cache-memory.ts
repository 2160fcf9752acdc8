import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { CacheHeapReport } from '../test/support/cache-heap-fill.js';
import { ANSWER_SHAPES } from '../test/support/prometheus-answers.js';
import { round } from './support/stats.js';

/**
 * (c) What 50,000 cached backend answers cost in memory: RSS and V8 heap of a process holding
 * only the cache, before and after filling it, per entry, beside the cache's own estimate (the
 * figure maxBytes bounds). The process is test/support/cache-heap-fill.ts, which the entry-size
 * test runs too: first a cache of every ANSWER_SHAPES in turn (Prometheus answers of 1–3
 * samples), which the summary reports, then one cache per shape, because a mix can hide one
 * shape charged too little behind another charged too much.
 */

const execFileAsync = promisify(execFile);
const FILL = fileURLToPath(new URL('../test/support/cache-heap-fill.ts', import.meta.url));
const MiB = 1024 * 1024;

export interface CacheMemoryResult {
  entries: number;
  shapes: string[];
  rssMiB: { before: number; after: number };
  heapUsedMiB: { before: number; after: number };
  rssBytesPerEntry: number;
  heapBytesPerEntry: number;
  /** The cache's own estimate per entry (stats().bytes / entries). */
  estimatedBytesPerEntry: number;
  /** estimate ÷ measured heap growth: 1 means maxBytes bounds the real heap exactly. */
  estimateVsHeap: number;
  byShape: { shape: string; heapBytesPerEntry: number; estimatedBytesPerEntry: number; estimateVsHeap: number }[];
}

export async function runCacheMemoryBench(entries = 50_000): Promise<CacheMemoryResult> {
  const shapes = Object.keys(ANSWER_SHAPES);
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', FILL, String(entries), shapes.join(','), ...shapes],
    { maxBuffer: 1024 * 1024 },
  );
  const [mixed, ...single] = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CacheHeapReport);
  if (!mixed || single.length !== shapes.length) throw new Error(`cache-heap-fill printed ${stdout}`);
  return {
    entries,
    shapes: mixed.shapes,
    rssMiB: { before: round(mixed.before.rss / MiB, 1), after: round(mixed.after.rss / MiB, 1) },
    heapUsedMiB: { before: round(mixed.before.heapUsed / MiB, 1), after: round(mixed.after.heapUsed / MiB, 1) },
    rssBytesPerEntry: round((mixed.after.rss - mixed.before.rss) / entries, 0),
    ...perEntry(mixed),
    byShape: single.map((report) => ({ shape: report.shapes.join(','), ...perEntry(report) })),
  };
}

function perEntry(
  report: CacheHeapReport,
): Pick<CacheMemoryResult, 'heapBytesPerEntry' | 'estimatedBytesPerEntry' | 'estimateVsHeap'> {
  const heapGrowth = report.after.heapUsed - report.before.heapUsed;
  return {
    heapBytesPerEntry: round(heapGrowth / report.entries, 0),
    estimatedBytesPerEntry: round(report.chargedBytes / report.entries, 0),
    estimateVsHeap: round(report.chargedBytes / heapGrowth, 2),
  };
}
