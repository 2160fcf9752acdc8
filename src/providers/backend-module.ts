import type { z } from 'zod';
import type { CacheLevel } from '../cache/config.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { BackendContext } from './context.js';
import type { PolicyLookup } from './failure-policy/policies.js';
import type { CarriedSeries } from './prometheus/series-discovery.js';
import type { PrometheusOverrides } from './prometheus/settings.js';
import type { MetricsBackend } from './provider.js';

/** What main.ts hands to every backend; each backend gets its own cache from `cacheFor`. */
export interface BackendEnvironment extends Omit<BackendContext, 'cache'> {
  /** `overrides`: a Prometheus server's own cache settings, over the backend's section. */
  cacheFor(backend: string, overrides?: CacheLevel): QueryCache;
  /** What the command line sets, which wins over the config file where both name a setting. */
  flags?: Partial<PrometheusOverrides>;
  /** Prometheus series the running config found, for the backend of a reloaded one. */
  carriedSeries?: CarriedSeries;
}

/** What a module builds its backend with: the environment, and its own context made on first call. */
export interface ModuleEnvironment extends BackendEnvironment {
  /** The backend's context, its cache `cacheFor(key)`: asked only by a module that builds a backend. */
  context(): BackendContext;
}

/**
 * One kind of backend, as the registry (registry.ts) knows it: everything the config file, the
 * caches and the failure policies need, so adding a backend is adding a module to the list.
 *
 * - `key` names the config section (`sqs:`), the backend's own cache settings (`cache.sqs`), and
 *   its caches: `sqs`, or `<key>:<part>` for a backend with several (`prometheus:thanos`), each
 *   read under `cache.<key>`.
 * - `schema` validates the section; the config schema holds one optional entry per module.
 * - `create` builds the backend of a validated section; it may import its heavy code there (the
 *   AWS SDK costs startup time and memory in a process that never calls AWS).
 * - `failurePolicies` says each metric's failure policy; the registry wraps the backend in it.
 *   Absent for a backend that cannot fail (static values).
 */
export interface BackendModule<
  Key extends string = string,
  Section = unknown,
  Backend extends MetricsBackend = MetricsBackend,
> {
  readonly key: Key;
  readonly schema: z.ZodType<Section>;
  /** Built also when the config file has no section (Prometheus: `--prometheus-url` alone turns it on). */
  readonly runsWithoutSection?: boolean;
  /** The backend, or undefined when the section (absent only if runsWithoutSection) turns nothing on. */
  create(section: Section | undefined, env: ModuleEnvironment): Backend | undefined | Promise<Backend | undefined>;
  failurePolicies?(section: Section | undefined, backend: Backend): PolicyLookup;
}
