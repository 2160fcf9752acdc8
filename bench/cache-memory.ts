import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { round } from './support/stats.js';

/**
 * (c) What 50,000 cached backend answers cost in memory: RSS and V8 heap of a process holding
 * only the cache, before and after filling it, per entry, beside the cache's own estimate (the
 * figure maxBytes bounds).
 */

const execFileAsync = promisify(execFile);
const CHILD = fileURLToPath(new URL('./cache-memory-child.ts', import.meta.url));
const MiB = 1024 * 1024;

export interface CacheMemoryResult {
  entries: number;
  rssMiB: { before: number; after: number };
  heapUsedMiB: { before: number; after: number };
  rssBytesPerEntry: number;
  heapBytesPerEntry: number;
  /** The cache's own estimate per entry (stats().bytes / entries). */
  estimatedBytesPerEntry: number;
  /** estimate ÷ measured heap growth: 1 means maxBytes bounds the real heap exactly. */
  estimateVsHeap: number;
}

export async function runCacheMemoryBench(entries = 50_000): Promise<CacheMemoryResult> {
  const { stdout } = await execFileAsync(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, String(entries)], {
    maxBuffer: 1024 * 1024,
  });
  const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
    before: NodeJS.MemoryUsage;
    after: NodeJS.MemoryUsage;
    estimatedBytes: number;
  };
  const heapGrowth = report.after.heapUsed - report.before.heapUsed;
  return {
    entries,
    rssMiB: { before: round(report.before.rss / MiB, 1), after: round(report.after.rss / MiB, 1) },
    heapUsedMiB: { before: round(report.before.heapUsed / MiB, 1), after: round(report.after.heapUsed / MiB, 1) },
    rssBytesPerEntry: round((report.after.rss - report.before.rss) / entries, 0),
    heapBytesPerEntry: round(heapGrowth / entries, 0),
    estimatedBytesPerEntry: round(report.estimatedBytes / entries, 0),
    estimateVsHeap: round(report.estimatedBytes / heapGrowth, 2),
  };
}
