import { BUILTIN_RESOURCES } from '../../api/builtin-resources.js';
import type { ResourceResolver } from '../../api/resource-table.js';
import type { MetricApi, UndiscoveredSource } from '../../api/unknown-metric.js';
import type { QueryCache } from '../../cache/query-cache.js';
import { loopTurns } from '../../lib/turn-slicer.js';
import { ConfigError } from '../../schema/errors.js';
import type { BackendContext } from '../context.js';
import type { CustomMetricsProvider, ExternalMetricsProvider, MetricsBackend } from '../provider.js';
import type { Discovery } from './announced-metrics.js';
import { createPrometheusClient, type PrometheusClient, type PrometheusClientOptions } from './client.js';
import { prometheusCustomProvider, prometheusExternalProvider } from './metric-providers.js';
import { createMetricQueries, type MetricQueries } from './metric-queries.js';
import { type PrometheusBackendMetrics, prometheusMetricsFor } from './metrics.js';
import { type RuleSource, type RuleSources, ruleSourcesInTurns } from './rule-sources.js';
import { type CompiledRule, compileRule, RuleCompilations, RuleError } from './rules.js';
import { type CarriedSeries, createSeriesDiscovery } from './series-discovery.js';
import { seriesHoldMs } from './series-discovery-hold.js';
import type { PrometheusServerSettings, PrometheusSettings } from './settings.js';

export interface PrometheusBackend extends MetricsBackend {
  readonly custom: CustomMetricsProvider;
  readonly external: ExternalMetricsProvider;
  /** What the last relist found, per rule. */
  discovery(): Discovery;
  /** The name of the server a rule of discovery() queries. */
  serverOf(rule: CompiledRule): string;
  /** The server of the rule serving a metric now (of several, the first rule's); undefined when none does. */
  serverOfMetric(metric: string): string | undefined;
  /** Runs series discovery now (start() does, then every relist interval). */
  relist(): Promise<void>;
}

/** Compiles the rules of a config; a rule that cannot compile is a ConfigError naming its field. */
export function compileRules(
  settings: Pick<PrometheusSettings, 'rules' | 'externalRules'>,
  resources: ResourceResolver,
): CompiledRule[] {
  try {
    return [...ruleCompilations(settings, resources)];
  } catch (error) {
    throw asConfigError(error);
  }
}

/**
 * compileRules between event-loop turns: thousands of rules (their RE2 patterns and templates)
 * held the loop for seconds in one turn (issue 20 item 12). The one place a config's rules are
 * compiled for serving; the config schema leaves them to it.
 */
export async function compileRulesInTurns(
  settings: Pick<PrometheusSettings, 'rules' | 'externalRules'>,
  resources: ResourceResolver,
  slice: () => Promise<void> | undefined,
): Promise<CompiledRule[]> {
  const rules: CompiledRule[] = [];
  try {
    for (const rule of ruleCompilations(settings, resources)) {
      rules.push(rule);
      await slice();
    }
  } catch (error) {
    throw asConfigError(error);
  }
  return rules;
}

function* ruleCompilations(
  settings: Pick<PrometheusSettings, 'rules' | 'externalRules'>,
  resources: ResourceResolver,
): Generator<CompiledRule> {
  const compilations = new RuleCompilations();
  for (const [i, rule] of settings.rules.entries()) yield compileRule(rule, 'custom', i, resources, compilations);
  for (const [i, rule] of settings.externalRules.entries())
    yield compileRule(rule, 'external', i, resources, compilations);
}

function asConfigError(error: unknown): unknown {
  return error instanceof RuleError ? new ConfigError(`field ${error.message}`) : error;
}

/**
 * prometheus-adapter's rules served through the provider contract: series discovery
 * (series-discovery.ts) finds what the rules announce, the query part (metric-queries.ts, one per
 * server and tenant, see rule-sources.ts) answers through each server's cache, and the providers
 * (metric-providers.ts) join the two. Built beside the running one on a reload (rules are compiled,
 * nothing is fetched), between event-loop turns so that a config of thousands of rules or hundreds
 * of servers never holds the loop long; start() runs the first discovery, close() stops the relist
 * timers and drops idle sockets.
 */
export async function createPrometheusBackend(
  settings: PrometheusSettings,
  context: BackendContext,
  options: {
    /** Each server's cache; default: `context.cache` for all (cache keys never collide across servers). */
    cacheFor?: (server: PrometheusServerSettings) => QueryCache;
    /** The running config's last good series, on a reload (see CarriedSeries). */
    carried?: CarriedSeries;
  } = {},
): Promise<PrometheusBackend> {
  const slice = () => loopTurns.slice();
  const rules = await compileRulesInTurns(settings, context.resources ?? BUILTIN_RESOURCES, slice);
  const metrics = prometheusMetricsFor(context.registry);
  const logger = context.logger.child({ backend: 'prometheus' });
  const sources = await ruleSourcesInTurns(
    settings,
    rules,
    (server, clientOptions) => clientFor(server.name, clientOptions, metrics),
    slice,
  );
  const queriesBySource = new Map<RuleSource, MetricQueries>();
  for (const source of sources.all) {
    const server = source.server.name;
    const queries = createMetricQueries({
      client: source.client,
      server,
      keyPrefix: source.key === '' ? '' : `${source.key}\n`,
      cache: options.cacheFor?.(source.server) ?? context.cache,
      now: context.now,
      metrics,
      logger: logger.child(source.tenant === undefined ? { server } : { server, tenant: source.tenant }),
    });
    queriesBySource.set(source, queries);
    await slice();
  }
  const queriesOf = (entry: { rule: CompiledRule }): MetricQueries => {
    const queries = queriesBySource.get(sources.of(entry.rule));
    if (!queries) throw new Error(`${entry.rule.id} has no query part`);
    return queries;
  };
  // The providers see one query part; each entry's queries go to the source of its rule.
  const queries: MetricQueries = {
    external: (entry, request) => queriesOf(entry).external(entry, request),
    object: (entry, request) => queriesOf(entry).object(entry, request),
    selection: (entry, request, objects) => queriesOf(entry).selection(entry, request, objects),
    forget() {
      for (const part of queriesBySource.values()) part.forget();
    },
  };
  const holdMs = seriesHoldMs(settings);
  const series = await createSeriesDiscovery({
    rules,
    sources,
    now: context.now,
    maxAgeMs: settings.maxAgeMs,
    holdMs,
    relistIntervalMs: settings.relistIntervalMs,
    metrics,
    logger,
    ...(options.carried ? { carried: options.carried } : {}),
    onRelist(found) {
      queries.forget();
      serverByMetric = serversOfMetrics(found, (rule) => sources.of(rule).server.name);
    },
  });
  const discovery = series.current;
  let serverByMetric = new Map<string, string>();

  return {
    name: 'prometheus',
    custom: prometheusCustomProvider({ discovery, queries, kube: context.kube, holdMs }),
    external: prometheusExternalProvider({ discovery, queries }),
    discovery,
    serverOf: (rule) => sources.of(rule).server.name,
    serverOfMetric: (metric) => serverByMetric.get(metric),
    undiscovered: (api) => undiscoveredServers(discovery(), api, sources),
    async relist() {
      await series.relist();
    },
    async start() {
      if (await series.start()) {
        const { customList, externalList } = discovery();
        logger.info(
          {
            servers: sources.all
              .filter((source) => source.tenant === undefined)
              .map((source) => `${source.server.name}=${source.client.url}`)
              .join(' '),
            custom: customList.length,
            external: externalList.length,
          },
          'prometheus backend ready',
        );
      }
    },
    async close() {
      await series.close();
      for (const source of sources.all) source.client.close();
    },
  };
}

/** A client of the settings; files it cannot read are config errors, named by their flag. */
export function clientFor(
  server: string,
  options: PrometheusClientOptions,
  metrics: PrometheusBackendMetrics,
): PrometheusClient {
  try {
    return createPrometheusClient({
      ...options,
      observe(endpoint, outcome, seconds) {
        metrics.calls.inc({ server, endpoint, outcome });
        metrics.callDuration.observe({ server, endpoint }, seconds);
      },
    });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** Each announced metric name's server; a custom name announced for several resources goes with the first. */
function serversOfMetrics(found: Discovery, serverOf: (rule: CompiledRule) => string): Map<string, string> {
  const servers = new Map<string, string>();
  for (const [metric, entry] of found.external) servers.set(metric, serverOf(entry.rule));
  for (const entry of found.custom.values()) {
    if (!servers.has(entry.info.metric)) servers.set(entry.info.metric, serverOf(entry.rule));
  }
  return servers;
}

/**
 * The servers with a rule of `api` whose seriesQuery has never answered (a failed relist keeps the
 * last good series, so a rule's report carries an error only then), each with that error.
 */
function undiscoveredServers(found: Discovery, api: MetricApi, sources: RuleSources): UndiscoveredSource[] {
  const servers = new Map<string, UndiscoveredSource>();
  for (const { rule, error } of found.reports) {
    if (error === undefined || rule.kind !== api) continue;
    const { server, client } = sources.of(rule);
    if (!servers.has(server.name))
      servers.set(server.name, { source: `prometheus server "${server.name}" (${client.url})`, error });
  }
  return [...servers.values()];
}
