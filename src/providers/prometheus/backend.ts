import { BUILTIN_RESOURCES } from '../../api/builtin-resources.js';
import type { ResourceResolver } from '../../api/resource-table.js';
import { ConfigError } from '../../config/errors.js';
import type { BackendContext } from '../context.js';
import type { CustomMetricsProvider, ExternalMetricsProvider, MetricsBackend } from '../provider.js';
import { createPrometheusClient, type PrometheusClient } from './client.js';
import type { Discovery } from './discovery.js';
import { prometheusCustomProvider, prometheusExternalProvider } from './metric-providers.js';
import { createMetricQueries } from './metric-queries.js';
import { type PrometheusBackendMetrics, prometheusMetricsFor } from './metrics.js';
import { type CompiledRule, compileRule, RuleError } from './rules.js';
import { createSeriesDiscovery } from './series-discovery.js';
import type { PrometheusSettings } from './settings.js';

export interface PrometheusBackend extends MetricsBackend {
  readonly custom: CustomMetricsProvider;
  readonly external: ExternalMetricsProvider;
  readonly client: PrometheusClient;
  /** What the last relist found, per rule. */
  discovery(): Discovery;
  /** Runs series discovery now (start() does, then every relist interval). */
  relist(): Promise<void>;
}

/** Compiles the rules of a config; a rule that cannot compile is a ConfigError naming its field. */
export function compileRules(
  settings: Pick<PrometheusSettings, 'rules' | 'externalRules'>,
  resources: ResourceResolver,
): CompiledRule[] {
  try {
    return [
      ...settings.rules.map((rule, i) => compileRule(rule, 'custom', i, resources)),
      ...settings.externalRules.map((rule, i) => compileRule(rule, 'external', i, resources)),
    ];
  } catch (error) {
    if (error instanceof RuleError) throw new ConfigError(`field ${error.message}`);
    throw error;
  }
}

/**
 * prometheus-adapter's rules served through the provider contract: series discovery
 * (series-discovery.ts) finds what the rules announce, the query part (metric-queries.ts) answers
 * through the cache, and the providers (metric-providers.ts) join the two. Cheap to build (rules
 * are compiled, nothing is fetched) so a reloaded config can build a new one beside the running
 * one; start() runs the first discovery, close() stops the relist timer and drops idle sockets.
 */
export function createPrometheusBackend(
  settings: PrometheusSettings,
  context: BackendContext,
  options: { client?: PrometheusClient } = {},
): PrometheusBackend {
  const rules = compileRules(settings, context.resources ?? BUILTIN_RESOURCES);
  const metrics = prometheusMetricsFor(context.registry);
  const client = options.client ?? clientFor(settings, metrics);
  const logger = context.logger.child({ backend: 'prometheus' });
  const queries = createMetricQueries({ client, cache: context.cache, now: context.now, metrics, logger });
  const series = createSeriesDiscovery({
    rules,
    client,
    now: context.now,
    maxAgeMs: settings.maxAgeMs,
    relistIntervalMs: settings.relistIntervalMs,
    metrics,
    logger,
    onRelist: () => queries.forget(),
  });
  const discovery = series.current;

  return {
    name: 'prometheus',
    client,
    custom: prometheusCustomProvider({ discovery, queries, kube: context.kube, maxAgeMs: settings.maxAgeMs }),
    external: prometheusExternalProvider({ discovery, queries }),
    discovery,
    async relist() {
      await series.relist();
    },
    async start() {
      if (await series.start()) {
        const { customList, externalList } = discovery();
        logger.info(
          { url: client.url, custom: customList.length, external: externalList.length },
          'prometheus backend ready',
        );
      }
    },
    async close() {
      series.close();
      client.close();
    },
  };
}

/** The client of the settings; files it cannot read are config errors, named by their flag. */
function clientFor(settings: PrometheusSettings, metrics: PrometheusBackendMetrics): PrometheusClient {
  try {
    return createPrometheusClient({
      ...settings.client,
      observe(endpoint, outcome, seconds) {
        metrics.calls.inc({ endpoint, outcome });
        metrics.callDuration.observe({ endpoint }, seconds);
      },
    });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}
