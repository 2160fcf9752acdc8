import { objectMetadataSchema, summaryOf } from '../../src/kube/metadata.js';
import { ObjectIndex } from '../../src/kube/object-index.js';

/**
 * Heap held per pod by the informer's index: N pods arrive as PartialObjectMetadata watch
 * events (JSON text decoded the way the watch decodes it), are indexed, and the heap is
 * compared after full GCs. Pods look like a Deployment's: generated names, the labels a
 * Helm chart sets, 50 pods per ReplicaSet. Run with --expose-gc; prints one JSON line.
 */

const pods = Number(process.argv[2] ?? 50_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function eventLine(i: number): string {
  const workload = `app-${Math.floor(i / 200)}`;
  const hash = `7d4b9c8f${(Math.floor(i / 50) % 100).toString(36)}`;
  return JSON.stringify({
    type: 'ADDED',
    object: {
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: {
        name: `${workload}-${hash}-${(i * 7919).toString(36).padStart(5, 'x').slice(-5)}`,
        namespace: `team-${Math.floor(i / 1000)}`,
        uid: `0b4f3c2e-5d6a-4e8b-9c1d-${i.toString(16).padStart(12, '0')}`,
        resourceVersion: String(100_000 + i),
        creationTimestamp: '2026-01-01T00:00:00Z',
        labels: {
          app: workload,
          'app.kubernetes.io/name': workload,
          'app.kubernetes.io/instance': 'prod',
          'pod-template-hash': hash,
        },
      },
    },
  });
}

const index = new ObjectIndex();
gc();
gc();
const before = process.memoryUsage();
for (let i = 0; i < pods; i++) {
  const event = JSON.parse(eventLine(i)) as { object: { metadata: unknown } };
  index.upsert(summaryOf(objectMetadataSchema.parse(event.object.metadata)));
}
gc();
gc();
const after = process.memoryUsage();
if (index.size !== pods) throw new Error(`indexed ${index.size} of ${pods} pods`);
console.log(JSON.stringify({ pods, heapBytes: after.heapUsed - before.heapUsed, rssBytes: after.rss - before.rss }));
