import type { CacheLevel } from '../cache/config.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { AdapterConfig } from '../config/schema.js';
import type { BackendContext } from './context.js';
import {
  cloudWatchFailurePolicies,
  type PolicyLookup,
  prometheusFailurePolicies,
  sqsFailurePolicies,
} from './failure-policy/policies.js';
import { withFailurePolicy } from './failure-policy/policy-backend.js';
import { createPrometheusBackend } from './prometheus/backend.js';
import { ignoredResourceRules, RESOURCE_RULES_IGNORED } from './prometheus/config.js';
import type { CarriedSeries } from './prometheus/series-discovery.js';
import { type PrometheusOverrides, resolvePrometheusSettings } from './prometheus/settings.js';
import type { MetricsBackend } from './provider.js';
import { createStaticBackend } from './static/static-backend.js';

/** What main.ts hands to every backend; each backend gets its own cache from `cacheFor`. */
export interface BackendEnvironment extends Omit<BackendContext, 'cache'> {
  /** `overrides`: a Prometheus server's own cache settings, over the backend's section. */
  cacheFor(backend: string, overrides?: CacheLevel): QueryCache;
  /** What the command line sets, which wins over the config file where both name a setting. */
  flags?: Partial<PrometheusOverrides>;
  /** Prometheus series the running config found, for the backend of a reloaded one. */
  carriedSeries?: CarriedSeries;
}

/**
 * Every backend the config turns on, in the order the router consults them. The SQS and
 * CloudWatch backends are imported only when their section is set: the AWS SDK they pull in
 * costs startup time, memory, and CPU on every request of a process that never calls AWS.
 */
export async function createBackends(config: AdapterConfig, env: BackendEnvironment): Promise<MetricsBackend[]> {
  const contextFor = (backend: string): BackendContext => ({ ...env, cache: env.cacheFor(backend) });
  const backends: MetricsBackend[] = [];
  // Every backend that can fail answers failures and missing data as each metric's policy says.
  const guarded = (backend: MetricsBackend, policies: PolicyLookup): MetricsBackend =>
    withFailurePolicy(backend, policies, env);
  const resourceRules = ignoredResourceRules(config);
  // Here, since this runs at start and on every reload: a reloaded file that has them says so too.
  if (resourceRules.length > 0) env.logger.warn({ fields: resourceRules }, RESOURCE_RULES_IGNORED);
  if (config.static) backends.push(createStaticBackend(config.static, contextFor('static')));
  const prometheus = resolvePrometheusSettings(config.prometheus, env.flags);
  if (prometheus) {
    const backend = createPrometheusBackend(prometheus, contextFor('prometheus'), {
      cacheFor: (server) => env.cacheFor(server.cacheName, server.cache),
      ...(env.carriedSeries ? { carried: env.carriedSeries } : {}),
    });
    backends.push(guarded(backend, prometheusFailurePolicies(config.prometheus, backend.serverOfMetric)));
  }
  if (config.sqs) {
    const { createSqsBackend } = await import('./sqs/sqs-backend.js');
    backends.push(guarded(createSqsBackend(config.sqs, contextFor('sqs')), sqsFailurePolicies(config.sqs)));
  }
  if (config.cloudwatch) {
    const { createCloudWatchBackend } = await import('./cloudwatch/cloudwatch-backend.js');
    backends.push(
      guarded(
        createCloudWatchBackend(config.cloudwatch, contextFor('cloudwatch')),
        cloudWatchFailurePolicies(config.cloudwatch),
      ),
    );
  }
  return backends;
}
