import type { BackendModule } from '../backend-module.js';
import type { FailurePolicyConfig } from '../failure-policy/config.js';
import { type PolicyLookup, policyLookup } from '../failure-policy/policies.js';
import type { MetricsBackend } from '../provider.js';
import { type SqsBackendConfig, sqsBackendSchema } from './config.js';

/** SQS queue depth and oldest-message age; the AWS SDK is imported only when the section is set. */
export const sqsModule: BackendModule<'sqs', SqsBackendConfig, MetricsBackend> = {
  key: 'sqs',
  schema: sqsBackendSchema,
  async create(section, env) {
    if (!section) return undefined;
    const { createSqsBackend } = await import('./sqs-backend.js');
    return createSqsBackend(section, env.context());
  },
  failurePolicies: (section) => (section ? sqsFailurePolicies(section) : policyLookup(undefined, [])),
};

export function sqsFailurePolicies(section: SqsBackendConfig): PolicyLookup {
  const { queueLengthMetric: length, oldestMessageAgeMetric: age } = section;
  return policyLookup(section.failurePolicy, [
    ...section.metrics.map((m): [string, FailurePolicyConfig | undefined] => [m.name, m.failurePolicy]),
    [length.name, length.failurePolicy],
    [age.name, age.failurePolicy],
  ]);
}
