import type { CloudWatchBackendConfig } from '../cloudwatch/config.js';
import type { SqsBackendConfig } from '../sqs/config.js';
import { type FailurePolicy, type FailurePolicyConfig, resolveFailurePolicy } from './config.js';

/** A metric's policy by name; every metric has one (static values, which cannot fail, are never asked). */
export type PolicyLookup = (metric: string) => FailurePolicy;

/** Each metric's own settings over the section's `failurePolicy` over the built-ins. */
function lookup(
  backendDefault: FailurePolicyConfig | undefined,
  own: Iterable<[string, FailurePolicyConfig | undefined]>,
): PolicyLookup {
  const resolved = new Map([...own].map(([metric, policy]) => [metric, resolveFailurePolicy(backendDefault, policy)]));
  const fallback = resolveFailurePolicy(backendDefault, undefined);
  return (metric) => resolved.get(metric) ?? fallback;
}

/** Prometheus metric names come from rule templates, so its policies are keyed by the served name. */
export function prometheusFailurePolicies(
  section: {
    failurePolicy?: FailurePolicyConfig | undefined;
    failurePolicies?: Record<string, FailurePolicyConfig> | undefined;
  } = {},
): PolicyLookup {
  return lookup(section.failurePolicy, Object.entries(section.failurePolicies ?? {}));
}

export function sqsFailurePolicies(section: SqsBackendConfig): PolicyLookup {
  const { queueLengthMetric: length, oldestMessageAgeMetric: age } = section;
  return lookup(section.failurePolicy, [
    ...section.metrics.map((m): [string, FailurePolicyConfig | undefined] => [m.name, m.failurePolicy]),
    [length.name, length.failurePolicy],
    [age.name, age.failurePolicy],
  ]);
}

/** A metric's `noData` (kept from before failure policies) counts as its failurePolicy.noData unless that is set. */
export function cloudWatchFailurePolicies(section: CloudWatchBackendConfig): PolicyLookup {
  return lookup(
    section.failurePolicy,
    section.metrics.map((m): [string, FailurePolicyConfig | undefined] => {
      const noData = m.failurePolicy?.noData ?? m.noData;
      return [m.name, noData === undefined ? m.failurePolicy : { ...m.failurePolicy, noData }];
    }),
  );
}
