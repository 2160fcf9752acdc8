import { DefinitionsBackend } from '../../src/definitions/definitions-backend.js';
import { decodeDefinition } from '../../src/definitions/resource.js';
import { passThroughCache, testBackendContext } from '../../test/support/backend-context.js';
import { definitionsConfigFor } from '../../test/support/definitions.js';

/**
 * Heap held per MetricDefinition by the definitions backend: N definitions in N/10 namespaces
 * arrive as watch-event JSON, are decoded, judged (PromQL parsed, namespace enforced), and
 * served (one Prometheus backend per TTL); the heap is compared after full GCs. The baseline, in
 * the same process: the same objects kept only as the parsed JSON the watch delivered (what a
 * store of raw objects would hold). Run with --expose-gc; prints one JSON line.
 */

const count = Number(process.argv[2] ?? 1000);
const namespaces = Math.max(1, Math.floor(count / 10));
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function eventLine(i: number): string {
  return JSON.stringify({
    type: 'ADDED',
    object: {
      apiVersion: 'hpa-metrics-adapter.io/v1alpha1',
      kind: 'MetricDefinition',
      metadata: {
        name: `jobs-${i}`,
        namespace: `ns-${i % namespaces}`,
        uid: `0b4f3c2e-5d6a-4e8b-9c1d-${i.toString(16).padStart(12, '0')}`,
        resourceVersion: String(100_000 + i),
        generation: 1,
        creationTimestamp: '2026-01-01T00:00:00Z',
      },
      spec: { prometheus: { query: `sum(rate(jobs_failed_total{queue="q${i}"}[2m]))` }, cache: { ttl: '30s' } },
    },
  });
}

function heapOf(build: () => unknown): { heapBytes: number; held: unknown } {
  gc?.();
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const held = build();
  gc?.();
  gc?.();
  return { heapBytes: process.memoryUsage().heapUsed - before, held };
}

const raw = heapOf(() =>
  Array.from({ length: count }, (_, i) => (JSON.parse(eventLine(i)) as { object: unknown }).object),
);

const context = testBackendContext();
const backend = new DefinitionsBackend(definitionsConfigFor(), {
  env: { ...context, cacheFor: () => passThroughCache() },
  logger: context.logger,
  settleMs: 1,
});
gc();
gc();
const before = process.memoryUsage().heapUsed;
backend.replaceAll(
  Array.from({ length: count }, (_, i) => decodeDefinition((JSON.parse(eventLine(i)) as { object: unknown }).object)),
);
await backend.settled();
gc();
gc();
const heapBytes = process.memoryUsage().heapUsed - before;
const valid = backend.states.list().filter((s) => s.reason === 'Valid').length;
if (valid !== count) throw new Error(`${valid} of ${count} definitions are Valid`);
console.log(
  JSON.stringify({
    definitions: count,
    namespaces,
    heapBytes,
    rawObjectsHeapBytes: raw.heapBytes,
    heldRaw: (raw.held as unknown[]).length,
  }),
);
await backend.close();
