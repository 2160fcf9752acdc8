import type { Registry } from 'prom-client';
import { EXTERNAL_GROUP } from '../api/groups.js';
import type { ResourceResolver } from '../api/resource-table.js';
import { CacheBudget } from '../cache/cache-budget.js';
import { type CacheLevel, cacheBudgetWarnings, resolveCacheBudget, resolveCacheSettings } from '../cache/config.js';
import { createQueryCache, type OwnedQueryCache } from '../cache/lru-query-cache.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { AdapterConfig } from '../config/schema.js';
import type { ObjectLister } from '../kube/index.js';
import type { KubeTransport } from '../kube/transport.js';
import type { Logger } from '../observability/logger.js';
import type { Series } from '../providers/prometheus/announced-metrics.js';
import { resourceRulesOf } from '../providers/prometheus/config.js';
import type { PrometheusOverrides } from '../providers/prometheus/settings.js';
import { customMetricKey, type MetricsBackend } from '../providers/provider.js';
import { type AnyBackendModule, createBackends } from '../providers/registry.js';
import { BackendRouter } from '../providers/router.js';
import { createResourceMetrics, type RunningResourceMetrics } from '../resource-metrics/create.js';
import type { ResourceMetricsSource } from '../resource-metrics/provider.js';
import { ConfigError } from '../schema/errors.js';
import { createUpstreamMetrics } from '../upstreams/metrics.js';
import type { Upstream } from '../upstreams/upstream.js';
import { closeUpstreams, type OwnMetrics, UpstreamSet } from '../upstreams/upstream-set.js';
import type { RunningDefinitions } from './definitions.js';

export interface RunningBackends {
  router: BackendRouter;
  /** The other metrics servers behind ours (`upstreams:`), swapped on reload like the backends. */
  upstreams: UpstreamSet;
  /**
   * metrics.k8s.io from resourceRules: a reader while the running config has them, swapped on
   * reload like the backends; a reload that adds or removes them turns the group on or off.
   */
  resourceMetrics: ResourceMetricsSource;
  /** The MetricDefinitions served after the config's backends (src/definitions), once a config turned them on. */
  definitions(): RunningDefinitions | undefined;
  /** Builds and starts the backends of a new config, swaps them in, then closes the old ones. */
  apply(config: AdapterConfig): Promise<void>;
  close(): Promise<void>;
}

export interface BackendDeps {
  /** What the command line sets over the config file. */
  flags: Partial<PrometheusOverrides>;
  logger: Logger;
  registry: Registry;
  kube?: ObjectLister;
  resources?: ResourceResolver;
  /** The backends there are; default: the adapter's own (BACKEND_MODULES). */
  modules?: readonly AnyBackendModule[];
  /** The backends' clock; default the real one (explain asks at its --time). */
  now?: () => Date;
  /** The API server connection MetricDefinitions are watched through; absent standalone. */
  kubeTransport?: KubeTransport;
}

/**
 * Backends are rebuilt whole on every config reload; caches outlive reloads (keyed by the
 * resolved backend query, an unchanged metric keeps its cached values and in-flight loads).
 */
export async function startBackends(initial: AdapterConfig, deps: BackendDeps): Promise<RunningBackends> {
  const caches = new Map<string, { cache: OwnedQueryCache; settings: string }>();
  // What every backend is built with, of the config file's or of the definitions.
  const environment = {
    logger: deps.logger,
    registry: deps.registry,
    now: deps.now ?? (() => new Date()),
    kube: deps.kube,
    resources: deps.resources,
    flags: deps.flags,
  };
  // One byte budget for every cache, old and new: resized when a reload commits, never rebuilt.
  const budget = new CacheBudget(resolveCacheBudget(initial.cache), deps.registry);
  // The running config's Prometheus series, so a reload while a server is down keeps its metrics.
  let carriedSeries: ReadonlyMap<string, Series[]> = new Map();
  const upstreamMetrics = createUpstreamMetrics(deps.registry);
  // Read only once serving: `router` exists by then.
  const ours: OwnMetrics = {
    servesExternal: (metric) => router.servesExternal(metric),
    servesCustom: (resource, metric) => router.servesCustom(resource, metric),
    ownsName: (group, name) => ownsDiscoveryName(router, group, name),
  };

  // A cache survives a reload unless its settings changed; then the new backends get a new
  // cache and the old one is closed with the old backends.
  const build = async (config: AdapterConfig, stage: 'start' | 'reload') => {
    const created = new Map<string, { cache: OwnedQueryCache; settings: string }>();
    const seriesFound = new Map<string, Series[]>();
    const cacheFor = (backend: string, overrides?: CacheLevel): QueryCache => {
      const settings = resolveCacheSettings(config.cache, backend, overrides);
      const budgetBytes = resolveCacheBudget(config.cache);
      if (overrides?.maxBytes !== undefined && overrides.maxBytes >= budgetBytes) {
        deps.logger.warn(
          `the ${backend} cache's own maxBytes (${overrides.maxBytes} bytes) is not below the budget every backend shares, cache.maxBytes (${budgetBytes} bytes): the budget bounds it`,
        );
      }
      const key = JSON.stringify(settings);
      const existing = created.get(backend) ?? caches.get(backend);
      if (existing?.settings === key) return existing.cache;
      const cache = createQueryCache(backend, settings, { registry: deps.registry, logger: deps.logger, budget });
      created.set(backend, { cache, settings: key });
      return cache;
    };
    const resourceRules = resourceRulesOf(config);
    const resourceMetrics =
      resourceRules &&
      createResourceMetrics(config.prometheus, resourceRules, {
        flags: deps.flags,
        cacheFor,
        ...(deps.kube ? { kube: deps.kube } : {}),
        ...(deps.resources ? { resources: deps.resources } : {}),
        now: deps.now ?? (() => new Date()),
        logger: deps.logger,
      });
    const backends = await createBackends(
      config,
      {
        ...environment,
        cacheFor,
        carriedSeries: { previous: carriedSeries, next: seriesFound },
      },
      deps.modules,
    );
    if (backends.length === 0 && (config.upstreams ?? []).length === 0 && !resourceMetrics) {
      const problem =
        'the config turns on no backend: add a static, prometheus (url and rules), sqs or cloudwatch section, or upstreams';
      // On reload, accepting it would turn every working metric into a 404 while reporting a
      // successful reload. At start there is nothing to lose: serve discovery (placeholders only)
      // so the APIService stays Available while the config is being written.
      if (stage === 'reload') throw new ConfigError(problem);
      deps.logger.warn(`${problem}; serving discovery only until a reload brings one`);
    }
    const started: MetricsBackend[] = [];
    let upstreams: Upstream[];
    try {
      for (const backend of backends) {
        await backend.start?.();
        started.push(backend);
      }
      upstreams = await UpstreamSet.build(config.upstreams ?? [], ours, {
        logger: deps.logger,
        metrics: upstreamMetrics,
        cacheFor: (name) => cacheFor(`upstream:${name}`),
      });
    } catch (error) {
      await closeAll(started);
      resourceMetrics?.close();
      for (const { cache } of created.values()) cache.close();
      throw error;
    }
    for (const warning of cacheBudgetWarnings(config.cache)) deps.logger.warn(warning);
    const commit = (): OwnedQueryCache[] => {
      budget.resize(resolveCacheBudget(config.cache));
      carriedSeries = seriesFound;
      const retired: OwnedQueryCache[] = [];
      for (const [backend, entry] of created) {
        const old = caches.get(backend);
        if (old) retired.push(old.cache);
        caches.set(backend, entry);
      }
      return retired;
    };
    return { backends, upstreams, resourceMetrics, commit };
  };

  // Definitions' caches are keyed by settings (a definition's TTL over its backend's), so the few
  // distinct TTLs in use each have one; one that no served definition uses any more is closed.
  let cacheSection = initial.cache;
  const definitionCaches = new Map<string, OwnedQueryCache>();
  // Imported and started only once a config turns definitions on: the PromQL parser and the
  // watch cost nothing in an adapter without them.
  let definitions: RunningDefinitions | undefined;
  const startDefinitionsFor = async (config: AdapterConfig): Promise<void> => {
    if (definitions) return definitions.reconfigure(config);
    if (!config.definitions?.enabled) return;
    const { startDefinitions } = await import('./definitions.js');
    definitions = startDefinitions(config, {
      env: {
        ...environment,
        cacheFor(backend, overrides) {
          const settings = resolveCacheSettings(cacheSection, backend, overrides);
          const key = `${backend} ${JSON.stringify(settings)}`;
          let cache = definitionCaches.get(key);
          if (!cache) {
            const name = `definitions:${backend}:${settings.ttlMs}ms`;
            cache = createQueryCache(name, settings, { registry: deps.registry, logger: deps.logger, budget });
            definitionCaches.set(key, cache);
          }
          return cache;
        },
      },
      cachesInUse(inUse) {
        for (const [key, cache] of definitionCaches) {
          if (inUse.has(cache)) continue;
          cache.close();
          definitionCaches.delete(key);
        }
      },
      flags: deps.flags,
      logger: deps.logger,
      registry: deps.registry,
      configBackends: () => router.current.filter((b) => b !== definitions?.backend),
      ...(deps.kubeTransport ? { transport: deps.kubeTransport } : {}),
    });
  };
  const withDefinitions = (backends: readonly MetricsBackend[], config: AdapterConfig) =>
    definitions && config.definitions?.enabled ? [...backends, definitions.backend] : backends;
  await startDefinitionsFor(initial);

  const first = await build(initial, 'start');
  first.commit();
  const upstreams = new UpstreamSet(first.upstreams, ours);
  const router = new BackendRouter(withDefinitions(first.backends, initial), deps.logger, upstreams);
  let resourceMetrics: RunningResourceMetrics | undefined = first.resourceMetrics;
  return {
    router,
    upstreams,
    resourceMetrics: { current: () => resourceMetrics?.reader },
    definitions: () => definitions,
    async apply(config) {
      const next = await build(config, 'reload');
      const retired = next.commit();
      cacheSection = config.cache;
      await startDefinitionsFor(config);
      const previous = router.replaceBackends(withDefinitions(next.backends, config));
      await closeAll(previous.filter((b) => b !== definitions?.backend));
      await closeUpstreams(upstreams.replace(next.upstreams));
      resourceMetrics?.close();
      reportResourceMetricsChange(resourceMetrics !== undefined, next.resourceMetrics !== undefined, deps.logger);
      resourceMetrics = next.resourceMetrics;
      for (const cache of retired) cache.close();
    },
    async close() {
      await closeAll(router.current.filter((b) => b !== definitions?.backend));
      await definitions?.close();
      for (const cache of definitionCaches.values()) cache.close();
      await closeUpstreams(upstreams.current);
      resourceMetrics?.close();
      for (const { cache } of caches.values()) cache.close();
    },
  };
}

/**
 * The group comes and goes with resourceRules, and what the cluster does about it depends on the
 * APIServices pointing here, which the adapter cannot change: say so when it happens.
 */
function reportResourceMetricsChange(before: boolean, after: boolean, logger: Logger): void {
  if (!before && after) {
    logger.info(
      'config reload added resourceRules: metrics.k8s.io (v1, v1beta1) is served now; register the APIServices v1beta1.metrics.k8s.io and v1.metrics.k8s.io (deploy/components/resource-metrics) for kubectl top and Resource HPAs to reach it',
    );
  } else if (before && !after) {
    logger.warn(
      'config reload removed resourceRules: metrics.k8s.io is no longer served (404, and gone from discovery); APIServices v1beta1.metrics.k8s.io and v1.metrics.k8s.io still pointing here turn Available=False, which fails Resource HPAs and kubectl top and blocks namespace deletion: delete them or point them at another metrics server',
    );
  }
}

function ownsDiscoveryName(router: BackendRouter, group: string, name: string): boolean {
  if (group === EXTERNAL_GROUP) return router.servesExternal(name);
  return router.listCustomMetrics().some((m) => customMetricKey(m.resource, m.metric) === name);
}

async function closeAll(backends: readonly MetricsBackend[]): Promise<void> {
  await Promise.allSettled(backends.map((b) => b.close?.()));
}
