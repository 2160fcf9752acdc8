import { Registry } from 'prom-client';
import { createQueryCache } from '../src/cache/metric-cache.js';
import type { PromSample } from '../src/providers/prometheus/client.js';

/**
 * Run by cache-memory.ts in a process of its own (with --expose-gc), so that the RSS and heap it
 * reports belong to the cache alone: fills a real createQueryCache with `entries` Prometheus
 * answers of 1–3 samples, keyed by PromQL as the Prometheus backend renders it, and prints the
 * process's memory before and after as one JSON line.
 */
const entries = Number(process.argv[2] ?? 50_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function settled(): NodeJS.MemoryUsage {
  gc?.();
  gc?.();
  return process.memoryUsage();
}

/** A key and an answer like those of 10,000s of HPAs: custom metrics by pod name, external ones by selector. */
function answer(i: number): { key: string; samples: () => PromSample[] } {
  const timestamp = new Date(Date.UTC(2026, 0, 1) + i * 1000);
  if (i % 2 === 0) {
    const pods = [`web-${i}-7f9c8d5b4-x2k9p`, `web-${i}-7f9c8d5b4-m4n7q`, `web-${i}-7f9c8d5b4-z8r1t`].slice(
      0,
      1 + (i % 3),
    );
    return {
      key: `sum(rate(http_requests_total{namespace="team-${i % 40}",pod=~"${pods.join('|')}"}[2m])) by (pod)`,
      samples: () => pods.map((pod, n) => ({ labels: { pod }, value: 0.25 * (i + n), timestamp })),
    };
  }
  return {
    key: `sum(broker_queue_depth{queue="orders-${i}",namespace="team-${i % 40}"}) by (queue)`,
    samples: () => [{ labels: { queue: `orders-${i}` }, value: i, timestamp }],
  };
}

const before = settled();
const cache = createQueryCache(
  'prometheus',
  {
    ttlMs: 3_600_000,
    maxStaleMs: 0,
    negativeTtlMs: 0,
    maxEntries: entries * 2,
    maxBytes: 1024 * 1024 * 1024,
  },
  { registry: new Registry() },
);
const signal = new AbortController().signal;
for (let i = 0; i < entries; i++) {
  const { key, samples } = answer(i);
  await cache.fetch(key, async () => samples(), signal);
}
const after = settled();
const stats = cache.stats();
if (stats.entries !== entries) throw new Error(`cache holds ${stats.entries} entries, expected ${entries}`);
console.log(JSON.stringify({ entries, before, after, estimatedBytes: stats.bytes }));
