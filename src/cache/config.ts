import { z } from 'zod';
import { isValidQuantity, parseQuantity } from '../api/quantity.js';
import { parseDuration } from '../lib/duration.js';
import type { CacheSettings } from './query-cache.js';

/**
 * Built-in settings for the HPA's 15 s poll: a 20 s TTL refreshed in the background in its last
 * half turns every steady poll into a hit at the same backend traffic (bench (b): 0 misses,
 * where ttl 15 s / refresh-ahead 0.2 left 15–50 % of polls waiting for the backend).
 */
export const DEFAULT_CACHE_SETTINGS: Readonly<Required<CacheSettings>> = Object.freeze({
  ttlMs: 20_000,
  maxStaleMs: 120_000,
  negativeTtlMs: 5_000,
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  refreshAheadRatio: 0.5,
  maxConcurrentLoads: 16,
  maxQueuedLoads: 256,
});

export const CACHE_BACKENDS = ['prometheus', 'sqs', 'cloudwatch', 'static'] as const;
export type CacheBackendName = (typeof CACHE_BACKENDS)[number];

export const duration = z
  .string({ error: 'expected a duration string such as 500ms, 15s, 2m or 1h30m' })
  .transform((text, context) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      context.addIssue({
        code: 'custom',
        message: `expected a duration such as 500ms, 15s, 2m or 1h30m, got "${text}"`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** A byte count: a whole number or a Kubernetes quantity such as 64Mi. */
export const byteSize = z
  .union([z.number(), z.string()], { error: 'expected a byte count such as 67108864 or a size such as 64Mi' })
  .transform((raw, context) => {
    const bytes = typeof raw === 'number' ? raw : isValidQuantity(raw) ? parseQuantity(raw) : Number.NaN;
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
      context.addIssue({
        code: 'custom',
        message: `expected a positive whole number of bytes or a size such as 512Ki, 64Mi or 1Gi, got ${JSON.stringify(raw)}`,
      });
      return z.NEVER;
    }
    return bytes;
  });

/** One level of settings as written; anything left out comes from `default`, then the built-ins. */
const cacheLevelSchema = z
  .object({
    /** How long a value is served without asking the backend again. */
    ttl: duration.optional(),
    /** How long past its TTL a value may be served while the backend fails. */
    maxStale: duration.optional(),
    /** How long a NotFound ("no data") answer is remembered; 0s turns negative caching off. */
    negativeTtl: duration.optional(),
    maxEntries: z.number().int().positive().optional(),
    maxBytes: byteSize.optional(),
    /** Fraction of the TTL at its end in which a hit also refreshes in the background; 0 turns it off. */
    refreshAheadRatio: z.number().min(0).max(0.9).optional(),
    /** Backend loads running at once (cache hits never wait); more wait in a queue. */
    maxConcurrentLoads: z.number().int().positive().optional(),
    /** Loads waiting for a slot; beyond it requests are answered 429 with Retry-After. */
    maxQueuedLoads: z.number().int().nonnegative().optional(),
  })
  .strict();

/** The `cache:` section of the config file. */
export const cacheConfigSchema = z
  .object({
    default: cacheLevelSchema.optional(),
    prometheus: cacheLevelSchema.optional(),
    sqs: cacheLevelSchema.optional(),
    cloudwatch: cacheLevelSchema.optional(),
    static: cacheLevelSchema.optional(),
  })
  .strict();

export type CacheConfig = z.infer<typeof cacheConfigSchema>;
type CacheLevel = z.infer<typeof cacheLevelSchema>;

function isCacheBackend(name: string): name is CacheBackendName {
  return (CACHE_BACKENDS as readonly string[]).includes(name);
}

/** The settings one backend's cache runs with: its own section, then `default`, then the built-ins. */
export function resolveCacheSettings(section: CacheConfig | undefined, backendName: string): Required<CacheSettings> {
  const own: CacheLevel = (isCacheBackend(backendName) ? section?.[backendName] : undefined) ?? {};
  const shared: CacheLevel = section?.default ?? {};
  const pick = <K extends keyof CacheLevel>(key: K): CacheLevel[K] => own[key] ?? shared[key];
  return {
    ttlMs: pick('ttl') ?? DEFAULT_CACHE_SETTINGS.ttlMs,
    maxStaleMs: pick('maxStale') ?? DEFAULT_CACHE_SETTINGS.maxStaleMs,
    negativeTtlMs: pick('negativeTtl') ?? DEFAULT_CACHE_SETTINGS.negativeTtlMs,
    maxEntries: pick('maxEntries') ?? DEFAULT_CACHE_SETTINGS.maxEntries,
    maxBytes: pick('maxBytes') ?? DEFAULT_CACHE_SETTINGS.maxBytes,
    refreshAheadRatio: pick('refreshAheadRatio') ?? DEFAULT_CACHE_SETTINGS.refreshAheadRatio,
    maxConcurrentLoads: pick('maxConcurrentLoads') ?? DEFAULT_CACHE_SETTINGS.maxConcurrentLoads,
    maxQueuedLoads: pick('maxQueuedLoads') ?? DEFAULT_CACHE_SETTINGS.maxQueuedLoads,
  };
}
