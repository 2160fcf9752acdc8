import { z } from 'zod';
import { formatDuration } from '../lib/duration.js';
import { byteSize, duration } from '../schema/fields.js';
import type { CacheSettings } from './query-cache.js';

/**
 * Built-in settings for the HPA's 15 s poll: a 20 s TTL refreshed in the background in its last
 * half turns every steady poll into a hit at the same backend traffic (bench (b): 0 misses,
 * where ttl 15 s / refresh-ahead 0.2 left 15–50 % of polls waiting for the backend).
 */
export const DEFAULT_CACHE_SETTINGS: Readonly<ResolvedCacheSettings> = Object.freeze({
  ttlMs: 20_000,
  maxStaleMs: 120_000,
  negativeTtlMs: 5_000,
  maxEntries: 10_000,
  refreshAheadRatio: 0.5,
  maxConcurrentLoads: 16,
  maxQueuedLoads: 256,
});

/**
 * A backend's settings with every default applied; `maxBytes` stays unset unless its section caps
 * it, and `staleWhileRevalidateMs` unless a section sets it (the cache then takes maxStale).
 */
export type ResolvedCacheSettings = Required<Omit<CacheSettings, 'maxBytes' | 'staleWhileRevalidateMs'>> &
  Pick<CacheSettings, 'maxBytes' | 'staleWhileRevalidateMs'>;

/**
 * The bytes every backend's cache holds together (`cache.maxBytes`). The deployment gives V8
 * 320 MB of heap (NODE_OPTIONS) in a 512 Mi container; an idle adapter uses 120–165 MB RSS.
 * Filled to 96 MiB under that heap limit (test/support/cache-heap-fill.ts on Node 24, 59,000
 * three-pod or 113,000 one-pod answers since a mark costs 80 bytes: entry-size.ts) the heap grew
 * by 87 MiB and RSS by 127–130 MiB: about 300 MB in all, leaving room for the informers (about 28 MiB of heap per 100,000 pods), the selector and
 * URL memos (at most about 28 MiB), a config reload and garbage collection.
 */
export const DEFAULT_CACHE_BUDGET_BYTES = 96 * 1024 * 1024;

/** One level of settings as written; anything left out comes from `default`, then the built-ins. */
export const cacheLevelSchema = z
  .object({
    /** How long a value is served without asking the backend again. */
    ttl: duration.optional(),
    /** How long past its TTL a value may be served while the backend fails. */
    maxStale: duration.optional(),
    /** How long a NotFound ("no data") answer is remembered; 0s turns negative caching off. */
    negativeTtl: duration.optional(),
    maxEntries: z.number().int().positive().optional(),
    /** A cap on this backend's share of the process budget (`cache.maxBytes`), never more than it. */
    maxBytes: byteSize.optional(),
    /** Fraction of the TTL at its end in which a hit also refreshes in the background; 0 turns it off. */
    refreshAheadRatio: z.number().min(0).max(0.9).optional(),
    /** While every load slot is taken, how long past its TTL a value is still answered while it reloads; default maxStale, 0s off. */
    staleWhileRevalidate: duration.optional(),
    /** Backend loads running at once (cache hits never wait); more wait in a queue. */
    maxConcurrentLoads: z.number().int().positive().optional(),
    /** Loads waiting for a slot; beyond it requests are answered 429 with Retry-After. */
    maxQueuedLoads: z.number().int().nonnegative().optional(),
  })
  .strict();

/** The `cache:` section as read: the shared budget, `default`, and one level per backend (see cacheSectionSchema). */
export interface CacheConfig {
  maxBytes?: number | undefined;
  default?: CacheLevel | undefined;
}

export type CacheLevel = z.infer<typeof cacheLevelSchema>;

/**
 * The `cache:` section of the config file for these backends, each with its own level under its
 * name (the backend registry lists them). `prometheus:thanos` is a cache of the prometheus backend.
 */
export function cacheSectionSchema<const Name extends string>(backends: readonly Name[]) {
  const levels = Object.fromEntries(backends.map((name) => [name, cacheLevelSchema.optional()]));
  return z
    .object({
      /** The budget every backend's cache shares; see DEFAULT_CACHE_BUDGET_BYTES. */
      maxBytes: byteSize.optional(),
      default: cacheLevelSchema.optional(),
      ...levels,
    })
    .strict() as unknown as z.ZodType<CacheConfig & { [name in Name]?: CacheLevel | undefined }>;
}

/** A backend's own level; `maxBytes` and `default` are not backends. */
function levelOf(section: CacheConfig | undefined, backend: string): CacheLevel | undefined {
  if (section === undefined || backend === 'maxBytes' || backend === 'default') return undefined;
  return (section as Readonly<Record<string, CacheLevel | undefined>>)[backend];
}

/**
 * The settings one backend's cache runs with: `overrides` (a Prometheus server's own `cache:`), its
 * backend's section, then `default`, then the built-ins. `prometheus:thanos` is a cache of the
 * prometheus backend.
 */
export function resolveCacheSettings(
  section: CacheConfig | undefined,
  backendName: string,
  overrides: CacheLevel = {},
): ResolvedCacheSettings {
  const family = backendName.split(':')[0] ?? backendName;
  const own: CacheLevel = levelOf(section, family) ?? {};
  const shared: CacheLevel = section?.default ?? {};
  const pick = <K extends keyof CacheLevel>(key: K): CacheLevel[K] => overrides[key] ?? own[key] ?? shared[key];
  const staleWhileRevalidateMs = pick('staleWhileRevalidate');
  return {
    ttlMs: pick('ttl') ?? DEFAULT_CACHE_SETTINGS.ttlMs,
    maxStaleMs: pick('maxStale') ?? DEFAULT_CACHE_SETTINGS.maxStaleMs,
    negativeTtlMs: pick('negativeTtl') ?? DEFAULT_CACHE_SETTINGS.negativeTtlMs,
    maxEntries: pick('maxEntries') ?? DEFAULT_CACHE_SETTINGS.maxEntries,
    maxBytes: pick('maxBytes'),
    refreshAheadRatio: pick('refreshAheadRatio') ?? DEFAULT_CACHE_SETTINGS.refreshAheadRatio,
    maxConcurrentLoads: pick('maxConcurrentLoads') ?? DEFAULT_CACHE_SETTINGS.maxConcurrentLoads,
    maxQueuedLoads: pick('maxQueuedLoads') ?? DEFAULT_CACHE_SETTINGS.maxQueuedLoads,
    ...(staleWhileRevalidateMs === undefined ? {} : { staleWhileRevalidateMs }),
  };
}

/** The process-wide cache budget: `cache.maxBytes`, else DEFAULT_CACHE_BUDGET_BYTES. */
export function resolveCacheBudget(section: CacheConfig | undefined): number {
  return section?.maxBytes ?? DEFAULT_CACHE_BUDGET_BYTES;
}

/**
 * What a loaded `cache:` section sets that has no effect: a section's maxBytes at or above the
 * process budget (before the budget existed, maxBytes was each backend's own; such configs
 * still load, and are bounded by the budget).
 */
export function cacheBudgetWarnings(section: CacheConfig | undefined): string[] {
  const budget = resolveCacheBudget(section);
  const levels = Object.keys(section ?? {}).filter((key) => key !== 'maxBytes');
  return levels.flatMap((level) => {
    const maxBytes = level === 'default' ? section?.default?.maxBytes : levelOf(section, level)?.maxBytes;
    if (maxBytes === undefined || maxBytes < budget) return [];
    return [
      `cache.${level}.maxBytes (${maxBytes} bytes) is not below the budget every backend shares, cache.maxBytes (${budget} bytes): the budget bounds it`,
    ];
  });
}

/** How long past its TTL a value is answered while every load slot is taken: the section's staleWhileRevalidate, else its maxStale. */
export function staleWhileRevalidateMsOf(
  settings: Pick<CacheSettings, 'staleWhileRevalidateMs' | 'maxStaleMs'>,
): number {
  return settings.staleWhileRevalidateMs ?? settings.maxStaleMs;
}

/**
 * How fresh a backend's answers are, in one line (explain METRIC): the TTL, when refresh-ahead
 * starts, and the two bounds past the TTL, while the backend is busy and while it fails.
 */
export function describeFreshness(settings: ResolvedCacheSettings): string {
  const s = formatDuration;
  const { ttlMs, refreshAheadRatio, maxStaleMs, maxConcurrentLoads } = settings;
  const swrMs = Math.min(staleWhileRevalidateMsOf(settings), maxStaleMs);
  const ahead =
    refreshAheadRatio > 0 ? `, refreshed in the background by a poll after ${s(ttlMs * (1 - refreshAheadRatio))}` : '';
  const busy =
    swrMs > 0
      ? `while all ${maxConcurrentLoads} load slots are busy a value up to ${s(swrMs)} past its ttl is answered while it reloads (staleWhileRevalidate: at most ${s(ttlMs + swrMs)} old while the backend answers)`
      : 'staleWhileRevalidate off';
  return `cache: ttl ${s(ttlMs)}${ahead}; ${busy}; while the backend fails, up to ${s(maxStaleMs)} past its ttl (maxStale, or the metric's failurePolicy)`;
}
