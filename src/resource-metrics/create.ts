import { BUILTIN_RESOURCES } from '../api/builtin-resources.js';
import type { ResourceResolver } from '../api/resource-table.js';
import type { CacheLevel } from '../cache/config.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { ObjectLister } from '../kube/types.js';
import type { Logger } from '../observability/logger.js';
import { createPrometheusClient } from '../providers/prometheus/client.js';
import type { PrometheusSection } from '../providers/prometheus/config.js';
import type { ResourceRulesConfig } from '../providers/prometheus/resource-rule-schema.js';
import { type PrometheusOverrides, resolvePrometheusSettings } from '../providers/prometheus/settings.js';
import { ConfigError } from '../schema/errors.js';
import type { ResourceMetricsReader } from './provider.js';
import { createPrometheusResourceReader } from './reader.js';
import { compileResourceRules } from './rules.js';

export interface ResourceMetricsDeps {
  flags?: Partial<PrometheusOverrides>;
  /** The cache of a Prometheus server, shared with the rules that query it. */
  cacheFor(name: string, overrides?: CacheLevel): QueryCache;
  kube?: ObjectLister;
  resources?: ResourceResolver;
  now: () => Date;
  logger: Logger;
}

export interface RunningResourceMetrics {
  reader: ResourceMetricsReader;
  /** Drops the reader's idle sockets. */
  close(): void;
}

/**
 * The reader of one config's resourceRules, over the Prometheus server they name (`server:`, as a
 * rule names its own), else the first (the only one in the single-server form), and that server's cache. Cheap to build; a rule that cannot work is a
 * ConfigError naming its field, so a reload that breaks them is refused.
 */
export function createResourceMetrics(
  section: PrometheusSection | undefined,
  resourceRules: { field: string; rules: ResourceRulesConfig },
  deps: ResourceMetricsDeps,
): RunningResourceMetrics {
  const settings = resolvePrometheusSettings(section, deps.flags);
  const wanted = resourceRules.rules.server;
  const server = wanted === undefined ? settings?.servers[0] : settings?.servers.find((s) => s.name === wanted);
  if (!server) {
    if (wanted !== undefined && settings) {
      throw new ConfigError(
        `field ${resourceRules.field}.server: no server is named "${wanted}" (${section?.servers ? 'prometheus.servers names' : 'the single server is'} ${settings.servers.map((s) => s.name).join(', ')})`,
      );
    }
    throw new ConfigError(
      `field ${resourceRules.field}: resourceRules need a Prometheus: pass --prometheus-url or set prometheus.url (or prometheus.servers)`,
    );
  }
  const rules = compileResourceRules(resourceRules.rules, resourceRules.field, deps.resources ?? BUILTIN_RESOURCES);
  const client = createPrometheusClient(server.client);
  const reader = createPrometheusResourceReader({
    rules,
    client,
    cache: deps.cacheFor(server.cacheName, server.cache),
    ...(deps.kube ? { kube: deps.kube } : {}),
    now: deps.now,
    logger: deps.logger.child({ api: 'metrics.k8s.io', server: server.name }),
  });
  return { reader, close: () => client.close() };
}
