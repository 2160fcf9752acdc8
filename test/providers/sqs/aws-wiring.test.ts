import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { parseConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createBackends } from '../../../src/providers/registry.js';
import { passThroughCache } from '../../support/backend-context.js';

// The example of docs and deploy/aws/README.md: it must parse and wire as written.
const EXAMPLE_YAML = `
sqs:
  region: us-east-1
  allowQueues: ["jobs", "team-a-*"]
  queueLengthMetric:
    include: [visible, inFlight]
  metrics:
    - name: emails-backlog
      queueName: emails
      include: [visible, inFlight, delayed]
      namespaces: [mailers]
cloudwatch:
  region: us-east-1
  metrics:
    - name: alb-requests-per-target
      period: 60
      lag: 120
      noData: zero
      queries:
        - id: requests
          returnData: false
          metricStat:
            namespace: AWS/ApplicationELB
            metricName: RequestCount
            dimensions:
              - { name: LoadBalancer, value: "app/\${selector.lb}/0123456789abcdef" }
            stat: Sum
        - id: perMinute
          expression: requests / 60
          returnData: true
`;

test('createBackends wires the sqs and cloudwatch sections, each with its own cache', async () => {
  const config = parseConfig(EXAMPLE_YAML, 'example');
  const cachesAskedFor: string[] = [];
  const backends = await createBackends(config, {
    logger: silentLogger(),
    registry: new Registry(),
    now: () => new Date(),
    cacheFor: (backend) => {
      cachesAskedFor.push(backend);
      return passThroughCache();
    },
  });
  assert.deepEqual(
    backends.map((b) => [b.name, b.external?.listExternalMetrics().map((m) => m.metric)]),
    [
      ['sqs', ['emails-backlog', 'sqs-queue-length', 'sqs-oldest-message-age']],
      ['cloudwatch', ['alb-requests-per-target']],
    ],
  );
  assert.deepEqual(cachesAskedFor, ['sqs', 'cloudwatch']);
  for (const backend of backends) await backend.start?.();
  for (const backend of backends) await backend.close?.();
});

test('config errors name the field', () => {
  assert.throws(
    () => parseConfig('sqs:\n  metrics:\n    - name: x\n', 'bad'),
    /set exactly one of queueName, queueUrl, queueNames and queueNamePrefix/,
  );
  assert.throws(() => parseConfig('cloudwatch:\n  maxQueriesPerCall: 501\n', 'bad'), /cloudwatch.maxQueriesPerCall/);
  assert.throws(
    () => parseConfig('sqs:\n  queueLengthMetric: { include: [all] }\n', 'bad'),
    /sqs.queueLengthMetric.include/,
  );
});
