import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cacheBudgetWarnings,
  DEFAULT_CACHE_SETTINGS,
  resolveCacheBudget,
  resolveCacheSettings,
} from '../../src/cache/config.js';
import { parseConfig } from '../../src/config/load.js';
import { formatDuration } from '../../src/lib/duration.js';
import { cacheConfigSchema } from '../../src/providers/registry.js';

describe('cache config section', () => {
  it('resolves to the built-in defaults when the section is absent: a 20 s TTL refreshed in its last half serves the 15 s HPA poll', () => {
    assert.deepEqual(resolveCacheSettings(undefined, 'prometheus'), {
      ttlMs: 20_000,
      maxStaleMs: 120_000,
      negativeTtlMs: 5_000,
      maxEntries: 10_000,
      maxBytes: undefined,
      refreshAheadRatio: 0.5,
      maxConcurrentLoads: 16,
      maxQueuedLoads: 256,
    });
  });

  it('gives every backend together one budget, 96 MiB unless cache.maxBytes says otherwise', () => {
    assert.equal(resolveCacheBudget(undefined), 96 * 1024 * 1024);
    assert.equal(resolveCacheBudget(cacheConfigSchema.parse({ default: { ttl: '1m' } })), 96 * 1024 * 1024);
    assert.equal(resolveCacheBudget(cacheConfigSchema.parse({ maxBytes: '200Mi' })), 200 * 1024 * 1024);
    assert.throws(() => cacheConfigSchema.parse({ maxBytes: '0' }), /bytes/);
  });

  it('still loads a per-backend maxBytes, now a cap within the budget, and warns where the cap cannot bind', () => {
    // The README's example before the budget existed: 64Mi for each backend.
    const old = parseConfig(
      'static:\n  external: []\ncache:\n  default: { ttl: 20s, maxBytes: 64Mi }\n  sqs: { maxBytes: 1Gi }\n',
      'old.yaml',
    );
    assert.equal(resolveCacheSettings(old.cache, 'prometheus').maxBytes, 64 * 1024 * 1024);
    assert.equal(resolveCacheBudget(old.cache), 96 * 1024 * 1024);
    assert.deepEqual(cacheBudgetWarnings(old.cache), [
      'cache.sqs.maxBytes (1073741824 bytes) is not below the budget every backend shares, cache.maxBytes (100663296 bytes): the budget bounds it',
    ]);
    assert.deepEqual(cacheBudgetWarnings(cacheConfigSchema.parse({ maxBytes: '2Gi', sqs: { maxBytes: '1Gi' } })), []);
    assert.deepEqual(cacheBudgetWarnings(undefined), []);
  });

  it('layers a backend section over default over the built-ins, field by field', () => {
    const section = cacheConfigSchema.parse({
      default: { ttl: '30s', maxEntries: 500 },
      sqs: { ttl: '1m', maxBytes: '1Mi' },
    });
    assert.deepEqual(resolveCacheSettings(section, 'sqs'), {
      ...DEFAULT_CACHE_SETTINGS,
      ttlMs: 60_000,
      maxEntries: 500,
      maxBytes: 1_048_576,
    });
    assert.deepEqual(resolveCacheSettings(section, 'cloudwatch'), {
      ...DEFAULT_CACHE_SETTINGS,
      ttlMs: 30_000,
      maxEntries: 500,
      maxBytes: undefined,
    });
  });

  it('reads Go-style durations and Kubernetes-style sizes', () => {
    const section = cacheConfigSchema.parse({
      prometheus: { ttl: '500ms', maxStale: '1h30m', negativeTtl: '0s', maxBytes: 2048, refreshAheadRatio: 0 },
      static: { maxBytes: '64Mi' },
      cloudwatch: { maxBytes: '1G' },
    });
    assert.deepEqual(section.prometheus, {
      ttl: 500,
      maxStale: 5_400_000,
      negativeTtl: 0,
      maxBytes: 2048,
      refreshAheadRatio: 0,
    });
    assert.equal(section.static?.maxBytes, 67_108_864);
    assert.equal(section.cloudwatch?.maxBytes, 1_000_000_000);
  });

  it('refuses unknown fields and unknown backends', () => {
    assert.throws(() => cacheConfigSchema.parse({ default: { tll: '15s' } }), /tll/);
    assert.throws(() => cacheConfigSchema.parse({ redis: {} }), /redis/);
  });

  it('refuses durations without a unit and sizes that are not whole positive byte counts', () => {
    for (const ttl of ['15', 'fast', '-1s', 15]) {
      assert.throws(() => cacheConfigSchema.parse({ default: { ttl } }), /duration/, `ttl ${JSON.stringify(ttl)}`);
    }
    for (const maxBytes of ['100m', '0', 'lots', -1, 1.5]) {
      assert.throws(() => cacheConfigSchema.parse({ default: { maxBytes } }), /bytes/, `maxBytes ${maxBytes}`);
    }
    assert.throws(() => cacheConfigSchema.parse({ default: { maxEntries: 0 } }));
    assert.throws(() => cacheConfigSchema.parse({ default: { refreshAheadRatio: 1 } }));
  });
});

describe('formatDuration', () => {
  it('writes durations the way Go prints them', () => {
    assert.equal(formatDuration(120_000), '2m0s');
    assert.equal(formatDuration(15_000), '15s');
    assert.equal(formatDuration(1_500), '1.5s');
    assert.equal(formatDuration(500), '500ms');
    assert.equal(formatDuration(5_400_000), '1h30m0s');
    assert.equal(formatDuration(0), '0s');
  });
});
