import type { Registry } from 'prom-client';
import { resolveCacheSettings } from '../cache/config.js';
import { createQueryCache, type MetricCache } from '../cache/metric-cache.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { Flags } from '../cli/flags.js';
import type { AdapterConfig } from '../config/schema.js';
import type { ObjectLister } from '../kube/index.js';
import type { Logger } from '../observability/logger.js';
import { createBackends } from '../providers/backends.js';
import type { MetricsBackend } from '../providers/provider.js';
import { BackendRouter } from '../providers/router.js';

export interface RunningBackends {
  router: BackendRouter;
  /** Builds and starts the backends of a new config, swaps them in, then closes the old ones. */
  apply(config: AdapterConfig): Promise<void>;
  close(): Promise<void>;
}

export interface BackendDeps {
  flags: Flags;
  logger: Logger;
  registry: Registry;
  kube?: ObjectLister;
}

/**
 * Backends are rebuilt whole on every config reload; caches outlive reloads (keyed by the
 * resolved backend query, an unchanged metric keeps its cached values and in-flight loads).
 */
export async function startBackends(initial: AdapterConfig, deps: BackendDeps): Promise<RunningBackends> {
  const caches = new Map<string, { cache: MetricCache; settings: string }>();

  // A cache survives a reload unless its settings changed; then the new backends get a new
  // cache and the old one is closed with the old backends.
  const build = async (config: AdapterConfig) => {
    const created = new Map<string, { cache: MetricCache; settings: string }>();
    const cacheFor = (backend: string): QueryCache => {
      const settings = resolveCacheSettings(config.cache, backend);
      const key = JSON.stringify(settings);
      const existing = created.get(backend) ?? caches.get(backend);
      if (existing?.settings === key) return existing.cache;
      const cache = createQueryCache(backend, settings, { registry: deps.registry, logger: deps.logger });
      created.set(backend, { cache, settings: key });
      return cache;
    };
    const backends = await createBackends(config, {
      logger: deps.logger,
      registry: deps.registry,
      now: () => new Date(),
      kube: deps.kube,
      flags: deps.flags,
      cacheFor,
    });
    const started: MetricsBackend[] = [];
    try {
      for (const backend of backends) {
        await backend.start?.();
        started.push(backend);
      }
    } catch (error) {
      await closeAll(started);
      for (const { cache } of created.values()) cache.close();
      throw error;
    }
    const commit = (): MetricCache[] => {
      const retired: MetricCache[] = [];
      for (const [backend, entry] of created) {
        const old = caches.get(backend);
        if (old) retired.push(old.cache);
        caches.set(backend, entry);
      }
      return retired;
    };
    return { backends, commit };
  };

  const first = await build(initial);
  first.commit();
  const router = new BackendRouter(first.backends);
  return {
    router,
    async apply(config) {
      const next = await build(config);
      const retired = next.commit();
      await closeAll(router.replaceBackends(next.backends));
      for (const cache of retired) cache.close();
    },
    async close() {
      await closeAll(router.current);
      for (const { cache } of caches.values()) cache.close();
    },
  };
}

async function closeAll(backends: readonly MetricsBackend[]): Promise<void> {
  await Promise.allSettled(backends.map((b) => b.close?.()));
}
