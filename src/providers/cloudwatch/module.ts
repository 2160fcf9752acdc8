import type { BackendModule } from '../backend-module.js';
import type { FailurePolicyConfig } from '../failure-policy/config.js';
import { type PolicyLookup, policyLookup } from '../failure-policy/policies.js';
import type { MetricsBackend } from '../provider.js';
import { type CloudWatchBackendConfig, cloudWatchBackendSchema } from './config.js';

/** CloudWatch GetMetricData; the AWS SDK is imported only when the section is set. */
export const cloudWatchModule: BackendModule<'cloudwatch', CloudWatchBackendConfig, MetricsBackend> = {
  key: 'cloudwatch',
  schema: cloudWatchBackendSchema,
  async create(section, env) {
    if (!section) return undefined;
    const { createCloudWatchBackend } = await import('./cloudwatch-backend.js');
    return createCloudWatchBackend(section, env.context());
  },
  failurePolicies: (section) => (section ? cloudWatchFailurePolicies(section) : policyLookup(undefined, [])),
};

/** A metric's `noData` (kept from before failure policies) counts as its failurePolicy.noData unless that is set. */
export function cloudWatchFailurePolicies(section: CloudWatchBackendConfig): PolicyLookup {
  return policyLookup(
    section.failurePolicy,
    section.metrics.map((m): [string, FailurePolicyConfig | undefined] => {
      const noData = m.failurePolicy?.noData ?? m.noData;
      return [m.name, noData === undefined ? m.failurePolicy : { ...m.failurePolicy, noData }];
    }),
  );
}
