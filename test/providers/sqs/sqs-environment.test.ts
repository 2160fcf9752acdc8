import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sqsBackendSchema } from '../../../src/providers/sqs/config.js';
import { createSqsBackend } from '../../../src/providers/sqs/sqs-backend.js';
import { externalRequest, FAST_AWS } from '../../support/aws-backend-context.js';
import { SqsDouble } from '../../support/aws-sqs-double.js';
import { testBackendContext } from '../../support/backend-context.js';

// The SDK reads these variables itself; the config names neither region nor endpoint here.
// node --test runs each file in its own process, so changing process.env stays in this file.
let sqs: SqsDouble;
before(async () => {
  sqs = await SqsDouble.start();
  process.env.AWS_REGION = 'ap-southeast-2';
  process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
});
after(async () => {
  delete process.env.AWS_REGION;
  delete process.env.AWS_ENDPOINT_URL_SQS;
  await sqs.close();
});

test('without region or endpoint in the config, AWS_REGION and AWS_ENDPOINT_URL_SQS are used', async () => {
  sqs.setQueue('jobs', { visible: 12 });
  const backend = createSqsBackend(sqsBackendSchema.parse({ allowQueues: ['jobs'] }), testBackendContext(), {
    aws: FAST_AWS,
  });
  await backend.start?.();
  try {
    const samples = await backend.external?.getExternalMetric(externalRequest('sqs-queue-length', 'queue-name=jobs'));
    assert.equal(samples?.[0]?.value, 12);
    assert.match(String(sqs.calls[0]?.headers.authorization), /\/ap-southeast-2\/sqs\/aws4_request/);
  } finally {
    await backend.close?.();
  }
});
