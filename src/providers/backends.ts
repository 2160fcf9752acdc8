import type { QueryCache } from '../cache/query-cache.js';
import type { Flags } from '../cli/flags.js';
import type { AdapterConfig } from '../config/schema.js';
import type { BackendContext } from './context.js';
import type { MetricsBackend } from './provider.js';
import { createStaticBackend } from './static/static-backend.js';

/** What main.ts hands to every backend; each backend gets its own cache from `cacheFor`. */
export interface BackendEnvironment extends Omit<BackendContext, 'cache'> {
  cacheFor(backend: string): QueryCache;
  /** Command-line flags, which win over the config file where both name a setting. */
  flags?: Flags;
}

/** Every backend the config turns on, in the order the router consults them. */
export function createBackends(config: AdapterConfig, env: BackendEnvironment): MetricsBackend[] {
  const contextFor = (backend: string): BackendContext => ({ ...env, cache: env.cacheFor(backend) });
  const backends: MetricsBackend[] = [];
  if (config.static) backends.push(createStaticBackend(config.static, contextFor('static')));
  return backends;
}
