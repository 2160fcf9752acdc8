import { Registry } from 'prom-client';
import { markCachedEntry, type QueryCache } from '../../../src/cache/query-cache.js';
import { parseConfig } from '../../../src/config/load.js';
import type { ObjectLister } from '../../../src/kube/index.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { BackendContext } from '../../../src/providers/context.js';
import { createPrometheusBackend, type PrometheusBackend } from '../../../src/providers/prometheus/backend.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';

/** A cache that always loads, recording each key, so tests see every query the backend runs. */
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

/** A cache that loads each key once and hands the same answer out again, marked, as the real cache does on a hit. */
export function keepingCache(): RecordingCache {
  const keys: string[] = [];
  const kept = new Map<string, Promise<unknown>>();
  return {
    keys,
    fetch<T>(key: string, load: (signal: AbortSignal) => Promise<T>, caller: Parameters<QueryCache['fetch']>[2]) {
      keys.push(key);
      let answer = kept.get(key) as Promise<T> | undefined;
      if (!answer) {
        answer = load(caller.deadline.signal).then((value) => {
          markCachedEntry(value);
          return value;
        });
        kept.set(key, answer);
      }
      return answer;
    },
  };
}

export function testContext(overrides: Partial<BackendContext> = {}): BackendContext {
  return {
    logger: silentLogger(),
    registry: new Registry(),
    cache: passThroughCache(),
    now: () => new Date(),
    ...overrides,
  };
}

export interface BackendUnderTest {
  backend: PrometheusBackend;
  cache: RecordingCache;
  registry: Registry;
}

/** A started Prometheus backend from config YAML, querying at `queryTime` (unix seconds). */
export async function startBackend(
  yaml: string,
  options: {
    url: string;
    queryTime: number;
    kube?: ObjectLister;
    flags?: Parameters<typeof resolvePrometheusSettings>[1];
    /** Default: a pass-through cache that records every key. */
    cache?: RecordingCache;
  },
): Promise<BackendUnderTest> {
  const config = parseConfig(yaml, 'test config');
  const settings = resolvePrometheusSettings(config.prometheus, { prometheusUrl: options.url, ...options.flags });
  if (!settings) throw new Error('the test config enables no Prometheus backend');
  const cache = options.cache ?? passThroughCache();
  const registry = new Registry();
  const backend = createPrometheusBackend(
    settings,
    testContext({ cache, registry, now: () => new Date(options.queryTime * 1000), kube: options.kube }),
  );
  await backend.start?.();
  return { backend, cache, registry };
}
