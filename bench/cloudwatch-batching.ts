import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createCloudWatchBackend } from '../src/providers/cloudwatch/cloudwatch-backend.js';
import { cloudWatchBackendSchema } from '../src/providers/cloudwatch/config.js';
import { externalRequest, FAST_AWS } from '../test/support/aws-backend-context.js';
import { CloudWatchDouble } from '../test/support/aws-cloudwatch-double.js';
import { testBackendContext } from '../test/support/backend-context.js';
import { median, round } from './support/stats.js';

/**
 * K HPA-like requests at once for K distinct CloudWatch metrics, against the wire-level
 * double: how many GetMetricData calls they cost (goal ceil(K/500)), and how much latency the
 * batching window adds (median per-request latency with batchWindowMs=5 against 0, same run).
 * No cache in between, so every request reaches the batcher.
 */

const SIZES = [1, 100, 500, 1200];
const ROUNDS = 5;
const NOW = new Date('2026-03-01T12:00:30Z');

interface SizeResult {
  requests: number;
  goalCalls: number;
  callsWindow5ms: number;
  callsWindow0ms: number;
  medianLatencyMsWindow5ms: number;
  medianLatencyMsWindow0ms: number;
  addedMedianLatencyMs: number;
}

export async function runCloudWatchBatchingBench(): Promise<object> {
  const cloudwatch = await CloudWatchDouble.start();
  try {
    const results: SizeResult[] = [];
    for (const size of SIZES) {
      const metrics = Array.from({ length: size }, (_, i) => ({
        name: `route-${i}`,
        queries: [
          {
            id: 'm1',
            metricStat: {
              namespace: 'Bench',
              metricName: 'Requests',
              dimensions: [{ name: 'Route', value: `r${i}` }],
              stat: 'Sum',
            },
          },
        ],
      }));
      for (let i = 0; i < size; i++) {
        cloudwatch.put({ namespace: 'Bench', metricName: 'Requests', dimensions: { Route: `r${i}` } }, [
          { timestamp: Date.parse('2026-03-01T11:58:00Z') / 1000, value: i },
        ]);
      }
      const windowed = await measure(cloudwatch, metrics, 5);
      const immediate = await measure(cloudwatch, metrics, 0);
      results.push({
        requests: size,
        goalCalls: Math.ceil(size / 500),
        callsWindow5ms: windowed.callsPerRound,
        callsWindow0ms: immediate.callsPerRound,
        medianLatencyMsWindow5ms: round(windowed.medianMs),
        medianLatencyMsWindow0ms: round(immediate.medianMs),
        addedMedianLatencyMs: round(windowed.medianMs - immediate.medianMs),
      });
    }
    return { benchmark: 'cloudwatch-batching', rounds: ROUNDS, results };
  } finally {
    await cloudwatch.close();
  }
}

async function measure(
  cloudwatch: CloudWatchDouble,
  metrics: unknown[],
  batchWindowMs: number,
): Promise<{ callsPerRound: number; medianMs: number }> {
  const config = cloudWatchBackendSchema.parse({
    region: 'us-east-1',
    endpoint: cloudwatch.url,
    batchWindowMs,
    metrics,
  });
  const backend = createCloudWatchBackend(config, testBackendContext({ now: () => NOW }), { aws: FAST_AWS });
  await backend.start?.();
  const external = backend.external;
  if (!external) throw new Error('the CloudWatch backend serves no external metrics');
  const latencies: number[] = [];
  const callsBefore = cloudwatch.calls.length;
  try {
    // One warm-up round opens the keep-alive connections.
    for (let round = 0; round <= ROUNDS; round++) {
      const roundLatencies = await Promise.all(
        config.metrics.map(async (m) => {
          const started = performance.now();
          await external.getExternalMetric(externalRequest(m.name));
          return performance.now() - started;
        }),
      );
      if (round > 0) latencies.push(...roundLatencies);
    }
  } finally {
    await backend.close?.();
  }
  return { callsPerRound: (cloudwatch.calls.length - callsBefore) / (ROUNDS + 1), medianMs: median(latencies) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runCloudWatchBatchingBench(), null, 2));
}
