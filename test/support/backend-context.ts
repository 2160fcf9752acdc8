import { Registry } from 'prom-client';
import type { QueryCache } from '../../src/cache/query-cache.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { BackendContext } from '../../src/providers/context.js';

/** A cache that always loads, recording each key: tests see and count every backend read. */
export interface RecordingCache extends QueryCache {
  keys: string[];
}

export function passThroughCache(): RecordingCache {
  const keys: string[] = [];
  return {
    keys,
    fetch(key, load, caller) {
      keys.push(key);
      return load(caller.deadline.signal);
    },
  };
}

export interface TestBackendContext extends BackendContext {
  registry: Registry;
}

/** What every backend test builds its backend with: a silent logger, a pass-through cache, a fresh registry. */
export function testBackendContext(overrides: Partial<BackendContext> = {}): TestBackendContext {
  const registry = overrides.registry ?? new Registry();
  return { logger: silentLogger(), cache: passThroughCache(), now: () => new Date(), ...overrides, registry };
}
