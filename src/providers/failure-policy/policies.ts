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

/**
 * Prometheus metric names come from rule templates, so its policies are keyed by the served name.
 * With several servers, a server's `failurePolicy` stands between a metric's own policy and the
 * section's; `serverOf` says which server serves a metric now (it follows discovery).
 */
export function prometheusFailurePolicies(
  section: {
    failurePolicy?: FailurePolicyConfig | undefined;
    failurePolicies?: Record<string, FailurePolicyConfig> | undefined;
    servers?: readonly { name: string; failurePolicy?: FailurePolicyConfig | undefined }[] | undefined;
  } = {},
  serverOf: (metric: string) => string | undefined = () => undefined,
): PolicyLookup {
  const own = Object.entries(section.failurePolicies ?? {});
  const sectionLookup = lookup(section.failurePolicy, own);
  const byServer = new Map(
    (section.servers ?? [])
      .filter((server) => server.failurePolicy !== undefined)
      .map((server) => [server.name, lookup({ ...section.failurePolicy, ...server.failurePolicy }, own)]),
  );
  if (byServer.size === 0) return sectionLookup;
  return (metric) => {
    const server = serverOf(metric);
    return ((server === undefined ? undefined : byServer.get(server)) ?? sectionLookup)(metric);
  };
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
