import { parseConfig } from '../../src/config/load.js';
import { createCloudWatchBackend } from '../../src/providers/cloudwatch/cloudwatch-backend.js';
import { cloudWatchBackendSchema } from '../../src/providers/cloudwatch/config.js';
import { sqsBackendSchema } from '../../src/providers/sqs/config.js';
import { createSqsBackend } from '../../src/providers/sqs/sqs-backend.js';
import { createStaticBackend } from '../../src/providers/static/static-backend.js';
import { FAST_AWS } from '../support/aws-backend-context.js';
import { CloudWatchDouble } from '../support/aws-cloudwatch-double.js';
import { SqsDouble } from '../support/aws-sqs-double.js';
import { testBackendContext } from '../support/backend-context.js';
import { backendContract } from '../support/backend-contract.js';
import { alignedQueryTime, startPrometheus } from '../support/prometheus-server.js';
import { CLUSTER_RULES, clusterSeries } from './prometheus/fixtures.js';
import { startBackend as startPrometheusBackend } from './prometheus/helpers.js';

backendContract('static', async () => {
  const config = parseConfig(
    'static:\n  external:\n    - metric: queue-depth\n      series:\n        - { labels: { queue: jobs }, value: 3 }\n',
    'contract',
  ).static;
  if (!config) throw new Error('the static section did not parse');
  return {
    backend: createStaticBackend(config, { now: () => new Date('2026-03-01T12:00:00Z') }),
    external: { metric: 'queue-depth', selector: 'queue=jobs', namespace: 'default' },
    waits: false,
    close: async () => {},
  };
});

backendContract('prometheus (a real Prometheus)', async () => {
  const T = alignedQueryTime();
  const prometheus = await startPrometheus({ series: clusterSeries(T) });
  const { backend } = await startPrometheusBackend(CLUSTER_RULES, { url: prometheus.url, queryTime: T });
  return {
    backend,
    external: { metric: 'queue_depth', selector: 'env=prod', namespace: 'team-a' },
    waits: true,
    async close() {
      await backend.close?.();
      await prometheus.stop();
    },
  };
});

backendContract('sqs (the SQS wire double)', async () => {
  const sqs = await SqsDouble.start();
  sqs.setQueue('jobs', { visible: 5 });
  const config = sqsBackendSchema.parse({ region: 'us-east-1', endpoint: sqs.url, allowQueues: ['jobs'] });
  const backend = createSqsBackend(config, testBackendContext(), { aws: FAST_AWS });
  await backend.start?.();
  return {
    backend,
    external: { metric: 'sqs-queue-length', selector: 'queue-name=jobs', namespace: 'default' },
    waits: true,
    async close() {
      await backend.close?.();
      await sqs.close();
    },
  };
});

backendContract('cloudwatch (the CloudWatch wire double)', async () => {
  const now = new Date('2026-03-01T12:00:30Z');
  const cloudwatch = await CloudWatchDouble.start();
  const metric = { namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible' };
  cloudwatch.put({ ...metric, dimensions: { QueueName: 'jobs' } }, [
    { timestamp: Date.parse('2026-03-01T11:58:00Z') / 1000, value: 5 },
  ]);
  const config = cloudWatchBackendSchema.parse({
    region: 'us-east-1',
    endpoint: cloudwatch.url,
    metrics: [
      {
        name: 'jobs-depth',
        queries: [
          { id: 'm1', metricStat: { ...metric, dimensions: [{ name: 'QueueName', value: 'jobs' }], stat: 'Average' } },
        ],
      },
    ],
  });
  const backend = createCloudWatchBackend(config, testBackendContext({ now: () => now }), { aws: FAST_AWS });
  await backend.start?.();
  return {
    backend,
    external: { metric: 'jobs-depth', selector: '', namespace: 'default' },
    waits: true,
    async close() {
      await backend.close?.();
      await cloudwatch.close();
    },
  };
});
