import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ApiError } from '../../../src/api/errors.js';
import { createCloudWatchBackend } from '../../../src/providers/cloudwatch/cloudwatch-backend.js';
import { cloudWatchBackendSchema } from '../../../src/providers/cloudwatch/config.js';
import { cloudWatchFailurePolicies } from '../../../src/providers/cloudwatch/module.js';
import { timeRangeAt } from '../../../src/providers/cloudwatch/queries.js';
import { withFailurePolicy } from '../../../src/providers/failure-policy/policy-backend.js';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { counterValue, externalRequest, FAST_AWS, TEST_CREDENTIALS } from '../../support/aws-backend-context.js';
import { testBackendContext } from '../../support/backend-context.js';
import { type MotoServer, motoAvailability, requireMoto, startMoto } from '../../support/moto.js';

// One clock for the whole file, so the datapoints written and the window asked for agree.
const NOW = new Date();
const { endTime: END } = timeRangeAt(NOW.getTime(), { period: 60, lag: 60, window: 300 });

let moto: MotoServer | undefined;
let admin: CloudWatchClient | undefined;
const opened: MetricsBackend[] = [];

before(async () => {
  if (!motoAvailability().available) return;
  moto = await startMoto();
  admin = new CloudWatchClient({ region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS });
  // Newest minute of the window [END-60, END): 4 and 8; an older minute: 3; after the window: 100.
  const points: [string, number, number][] = [
    ['jobs', END - 150, 3],
    ['jobs', END - 40, 4],
    ['jobs', END - 20, 8],
    ['jobs', END + 30, 100],
    ['emails', END - 90, 11],
  ];
  await admin.send(
    new PutMetricDataCommand({
      Namespace: 'Adapter/Test',
      MetricData: points.map(([queue, seconds, value]) => ({
        MetricName: 'Depth',
        Dimensions: [{ Name: 'Queue', Value: queue }],
        Timestamp: new Date(seconds * 1000),
        Value: value,
      })),
    }),
  );
});
after(async () => {
  await Promise.all(opened.map((b) => b.close?.()));
  admin?.destroy();
  await moto?.stop();
});

function depth(name: string, queue: string, stat: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    queries: [
      {
        id: 'm1',
        metricStat: {
          namespace: 'Adapter/Test',
          metricName: 'Depth',
          dimensions: [{ name: 'Queue', value: queue }],
          stat,
        },
      },
    ],
    ...extra,
  };
}

async function startBackend(metrics: unknown[]) {
  assert.ok(moto);
  const context = testBackendContext({ now: () => NOW });
  const config = cloudWatchBackendSchema.parse({ region: 'us-east-1', endpoint: moto.url, metrics });
  const backend = withFailurePolicy(
    createCloudWatchBackend(config, context, { aws: FAST_AWS }),
    cloudWatchFailurePolicies(config),
    context,
  );
  await backend.start?.();
  opened.push(backend);
  const read = async (metric: string, selector = '') => {
    assert.ok(backend.external);
    return backend.external.getExternalMetric(externalRequest(metric, selector));
  };
  return { read, context };
}

describe('CloudWatch backend against moto (MetricStat only: moto returns no metric math)', () => {
  test('the newest datapoint of the window, with its timestamp', async (t) => {
    if (!requireMoto(t)) return;
    const { read } = await startBackend([depth('avg', 'jobs', 'Average'), depth('max', 'jobs', 'Maximum')]);
    const [avg] = await read('avg');
    assert.equal(avg?.value, 6);
    assert.deepEqual(avg?.timestamp, new Date((END - 60) * 1000));
    assert.equal((await read('max'))[0]?.value, 8);
  });

  test(`\${selector.<label>} picks the dimension value`, async (t) => {
    if (!requireMoto(t)) return;
    const { read } = await startBackend([depth('by-queue', `\${selector.queue}`, 'Sum')]);
    assert.equal((await read('by-queue', 'queue=emails'))[0]?.value, 11);
    assert.equal((await read('by-queue', 'queue=jobs'))[0]?.value, 12);
  });

  test('concurrent requests share one GetMetricData call and each gets its own value', async (t) => {
    if (!requireMoto(t)) return;
    const { read, context } = await startBackend([
      depth('a', 'jobs', 'Average'),
      depth('b', 'jobs', 'Sum'),
      depth('c', 'emails', 'Maximum'),
      depth('d', 'jobs', 'SampleCount'),
    ]);
    const values = await Promise.all(['a', 'b', 'c', 'd'].map(async (m) => (await read(m))[0]?.value));
    assert.deepEqual(values, [6, 12, 11, 2]);
    const calls = await counterValue(context.registry, 'hpa_metrics_adapter_aws_requests_total', {
      service: 'cloudwatch',
      operation: 'GetMetricData',
      outcome: 'success',
    });
    assert.equal(calls, 1);
  });

  test('no datapoint: error is 404, zero answers 0', async (t) => {
    if (!requireMoto(t)) return;
    const { read } = await startBackend([
      depth('none', 'nobody', 'Average'),
      depth('none-zero', 'nobody', 'Average', { noData: 'zero' }),
    ]);
    await assert.rejects(
      read('none'),
      (e: unknown) => e instanceof ApiError && e.code === 404 && /Queue=nobody/.test(e.message),
    );
    assert.equal((await read('none-zero'))[0]?.value, 0);
  });
});
