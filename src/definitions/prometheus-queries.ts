import { z } from 'zod';
import { BUILTIN_RESOURCES } from '../api/builtin-resources.js';
import { ApiError } from '../api/errors.js';
import type { BackendModule } from '../providers/backend-module.js';
import type { FailurePolicyConfig } from '../providers/failure-policy/config.js';
import { policyLookup } from '../providers/failure-policy/policies.js';
import type { PrometheusClient } from '../providers/prometheus/client.js';
import { createMetricQueries, type MetricQueries } from '../providers/prometheus/metric-queries.js';
import { prometheusMetricsFor } from '../providers/prometheus/metrics.js';
import { type CompiledRule, compileRule } from '../providers/prometheus/rules.js';
import type { PrometheusServerSettings } from '../providers/prometheus/settings.js';
import type { ExternalMetricsProvider, MetricsBackend } from '../providers/provider.js';
import type { EnforcedQuery } from './promql-namespace.js';

/** One definition's PromQL, namespace enforced, on one of the config's servers. */
export interface DefinitionQuery {
  /** definitionKey(namespace, metric): the name the backend serves it under. */
  key: string;
  server: string;
  rule: CompiledRule;
  failurePolicy: FailurePolicyConfig | undefined;
}

export interface DefinitionQueriesSection {
  servers: readonly PrometheusServerSettings[];
  /** The server's client, owned (and closed) by the caller: every namespace's backend shares it. */
  clientOf(server: PrometheusServerSettings): PrometheusClient;
  queries: readonly DefinitionQuery[];
}

/**
 * The definitions' PromQL as a backend module: each query becomes an external rule whose
 * metricsQuery is the definition's query with `<<.LabelMatchers>>` at every selector, so the
 * namespace (and the HPA's metric selector) are added exactly as for the config's externalRules,
 * and the answer goes through the same query part (metric-queries.ts: cache, NaN, ±Inf) on the
 * server's cache. No series discovery: the definition names its metric itself.
 */
export const definitionQueriesModule: BackendModule<'prometheus', DefinitionQueriesSection> = {
  key: 'prometheus',
  // Built by the definitions, never read from a file: its parts were validated as definitions.
  schema: z.custom<DefinitionQueriesSection>(),
  create(section, env) {
    if (!section || section.queries.length === 0) return undefined;
    const context = env.context();
    const metrics = prometheusMetricsFor(context.registry);
    const logger = context.logger.child({ backend: 'prometheus', source: 'definitions' });
    const used = new Set(section.queries.map((q) => q.server));
    const parts = new Map<string, MetricQueries>();
    for (const server of section.servers.filter((s) => used.has(s.name))) {
      const queries = createMetricQueries({
        client: section.clientOf(server),
        server: server.name,
        keyPrefix: server.tenant === undefined ? '' : `${server.tenant}\n`,
        cache: env.cacheFor(server.cacheName, server.cache),
        now: context.now,
        metrics,
        logger: logger.child({ server: server.name }),
      });
      parts.set(server.name, queries);
    }
    const entries = new Map(
      section.queries.map((q) => [
        q.key,
        { entry: { info: { metric: q.key }, rule: q.rule, seriesName: '' }, server: q.server },
      ]),
    );
    const infos = [...entries.keys()].map((metric) => ({ metric }));
    const external: ExternalMetricsProvider = {
      getExternalMetric(request) {
        const found = entries.get(request.metric);
        const queries = found && parts.get(found.server);
        if (!found || !queries) throw ApiError.notFound(`no definition serves external metric "${request.metric}"`);
        return queries.external(found.entry, request);
      },
      listExternalMetrics: () => infos,
      servesExternal: (metric) => entries.has(metric),
    };
    return { name: 'prometheus', external } satisfies MetricsBackend;
  },
  failurePolicies: (section) =>
    policyLookup(
      undefined,
      (section?.queries ?? []).map((q): [string, FailurePolicyConfig | undefined] => [q.key, q.failurePolicy]),
    ),
};

/**
 * The definition's query as an external rule (throws RuleError when the template cannot compile):
 * `<<.LabelMatchers>>` brings the namespace in `namespaceLabel` and the HPA's selector matchers.
 */
export function definitionRule(query: EnforcedQuery, namespaceLabel: string): CompiledRule {
  return compileRule(
    {
      seriesQuery: query.text,
      metricsQuery: query.splice('<<.LabelMatchers>>'),
      resources: { overrides: { [namespaceLabel]: { resource: 'namespaces' } }, namespaced: true },
      nan: 'noData',
    },
    'external',
    0,
    BUILTIN_RESOURCES,
  );
}
