import { type FailurePolicy, type FailurePolicyConfig, resolveFailurePolicy } from './config.js';

/** A metric's policy by name; every metric has one (static values, which cannot fail, are never asked). */
export type PolicyLookup = (metric: string) => FailurePolicy;

/** Each metric's own settings over the section's `failurePolicy` over the built-ins. */
export function policyLookup(
  backendDefault: FailurePolicyConfig | undefined,
  own: Iterable<[string, FailurePolicyConfig | undefined]>,
): PolicyLookup {
  const resolved = new Map([...own].map(([metric, policy]) => [metric, resolveFailurePolicy(backendDefault, policy)]));
  const fallback = resolveFailurePolicy(backendDefault, undefined);
  return (metric) => resolved.get(metric) ?? fallback;
}
