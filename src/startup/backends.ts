import type { Registry } from 'prom-client';
import { resolveCacheSettings } from '../cache/config.js';
import { createQueryCache } from '../cache/metric-cache.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { Flags } from '../cli/flags.js';
import type { AdapterConfig } from '../config/schema.js';
import type { KubeClient } from '../kube/index.js';
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
  kube?: KubeClient;
}

/**
 * Backends are rebuilt whole on every config reload; caches outlive reloads (keyed by the
 * resolved backend query, an unchanged metric keeps its cached values and in-flight loads).
 */
export async function startBackends(initial: AdapterConfig, deps: BackendDeps): Promise<RunningBackends> {
  const caches = new Map<string, QueryCache>();
  let cacheSection = initial.cache;

  const build = async (config: AdapterConfig): Promise<MetricsBackend[]> => {
    cacheSection = config.cache;
    const backends = createBackends(config, {
      logger: deps.logger,
      registry: deps.registry,
      now: () => new Date(),
      kube: deps.kube,
      flags: deps.flags,
      cacheFor(backend): QueryCache {
        const existing = caches.get(backend);
        if (existing) return existing;
        const cache = createQueryCache(backend, resolveCacheSettings(cacheSection, backend), {
          registry: deps.registry,
          logger: deps.logger,
        });
        caches.set(backend, cache);
        return cache;
      },
    });
    const started: MetricsBackend[] = [];
    try {
      for (const backend of backends) {
        await backend.start?.();
        started.push(backend);
      }
    } catch (error) {
      await closeAll(started);
      throw error;
    }
    return backends;
  };

  const router = new BackendRouter(await build(initial));
  return {
    router,
    async apply(config) {
      const next = await build(config);
      await closeAll(router.replaceBackends(next));
    },
    async close() {
      await closeAll(router.current);
    },
  };
}

async function closeAll(backends: readonly MetricsBackend[]): Promise<void> {
  await Promise.allSettled(backends.map((b) => b.close?.()));
}
