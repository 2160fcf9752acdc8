import type { BackendModule } from '../backend-module.js';
import type { FailurePolicyConfig } from '../failure-policy/config.js';
import { type PolicyLookup, policyLookup } from '../failure-policy/policies.js';
import { createPrometheusBackend, type PrometheusBackend } from './backend.js';
import { type PrometheusSection, prometheusSectionSchema } from './config.js';
import { resolvePrometheusSettings } from './settings.js';

/** prometheus-adapter compatible rules over one or more servers, each server on its own cache. */
export const prometheusModule: BackendModule<'prometheus', PrometheusSection, PrometheusBackend> = {
  key: 'prometheus',
  schema: prometheusSectionSchema,
  runsWithoutSection: true,
  create(section, env) {
    const settings = resolvePrometheusSettings(section, env.flags);
    if (!settings) return undefined;
    return createPrometheusBackend(settings, env.context(), {
      cacheFor: (server) => env.cacheFor(server.cacheName, server.cache),
      ...(env.carriedSeries ? { carried: env.carriedSeries } : {}),
    });
  },
  failurePolicies: (section, backend) => prometheusFailurePolicies(section, backend.serverOfMetric),
};

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
  const sectionLookup = policyLookup(section.failurePolicy, own);
  const byServer = new Map(
    (section.servers ?? [])
      .filter((server) => server.failurePolicy !== undefined)
      .map((server) => [server.name, policyLookup({ ...section.failurePolicy, ...server.failurePolicy }, own)]),
  );
  if (byServer.size === 0) return sectionLookup;
  return (metric) => {
    const server = serverOf(metric);
    return ((server === undefined ? undefined : byServer.get(server)) ?? sectionLookup)(metric);
  };
}
