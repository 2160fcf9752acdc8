import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createCloudWatchBackend } from '../../../src/providers/cloudwatch/cloudwatch-backend.js';
import { cloudWatchBackendSchema } from '../../../src/providers/cloudwatch/config.js';
import { cloudWatchFailurePolicies } from '../../../src/providers/cloudwatch/module.js';
import { withFailurePolicy } from '../../../src/providers/failure-policy/policy-backend.js';
import { externalRequest, FAST_AWS } from '../../support/aws-backend-context.js';
import { CloudWatchDouble } from '../../support/aws-cloudwatch-double.js';
import { testBackendContext } from '../../support/backend-context.js';

// The SDK reads these variables itself; node --test gives this file its own process.
let cloudwatch: CloudWatchDouble;
before(async () => {
  cloudwatch = await CloudWatchDouble.start();
  process.env.AWS_REGION = 'eu-central-1';
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH = cloudwatch.url;
});
after(async () => {
  delete process.env.AWS_REGION;
  delete process.env.AWS_ENDPOINT_URL_CLOUDWATCH;
  await cloudwatch.close();
});

test('without region or endpoint in the config, AWS_REGION and AWS_ENDPOINT_URL_CLOUDWATCH are used', async () => {
  const config = cloudWatchBackendSchema.parse({
    metrics: [
      {
        name: 'cpu',
        noData: 'zero',
        queries: [{ id: 'm1', metricStat: { namespace: 'AWS/EC2', metricName: 'CPUUtilization', stat: 'Average' } }],
      },
    ],
  });
  const backend = withFailurePolicy(
    createCloudWatchBackend(config, testBackendContext(), { aws: FAST_AWS }),
    cloudWatchFailurePolicies(config),
    testBackendContext(),
  );
  await backend.start?.();
  try {
    const samples = await backend.external?.getExternalMetric(externalRequest('cpu'));
    assert.equal(samples?.[0]?.value, 0);
    assert.equal(cloudwatch.calls.length, 1);
    assert.match(String(cloudwatch.calls[0]?.headers.authorization), /\/eu-central-1\/monitoring\/aws4_request/);
  } finally {
    await backend.close?.();
  }
});
