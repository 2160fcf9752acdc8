import { Registry } from 'prom-client';
import { markCachedEntry } from '../../../src/cache/entry-identity.js';
import type { QueryCache } from '../../../src/cache/query-cache.js';
import { parseConfig } from '../../../src/config/load.js';
import type { ObjectLister } from '../../../src/kube/index.js';
import type { Logger } from '../../../src/observability/logger.js';
import { createPrometheusBackend, type PrometheusBackend } from '../../../src/providers/prometheus/backend.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import { passThroughCache, type RecordingCache, testBackendContext } from '../../support/backend-context.js';

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
    /** Default: silent. */
    logger?: Logger;
  },
): Promise<BackendUnderTest> {
  const config = parseConfig(yaml, 'test config');
  const settings = resolvePrometheusSettings(config.prometheus, { prometheusUrl: options.url, ...options.flags });
  if (!settings) throw new Error('the test config enables no Prometheus backend');
  const cache = options.cache ?? passThroughCache();
  const registry = new Registry();
  const backend = await createPrometheusBackend(
    settings,
    testBackendContext({
      cache,
      registry,
      now: () => new Date(options.queryTime * 1000),
      kube: options.kube,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  );
  await backend.start?.();
  return { backend, cache, registry };
}
