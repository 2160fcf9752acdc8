import type { Registry } from 'prom-client';
import type { ResourceResolver } from '../api/resource-table.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { ObjectLister } from '../kube/index.js';
import type { Logger } from '../observability/logger.js';

/**
 * What every backend is built with. Clients, clocks and registries come in from main.ts so
 * tests can hand in their own; no backend reaches for a global.
 */
export interface BackendContext {
  logger: Logger;
  /** prom-client registry for the backend's own metrics (calls, errors, latency). */
  registry: Registry;
  /** The cache the backend should put every backend read through. */
  cache: QueryCache;
  now: () => Date;
  /** Lists Kubernetes objects for custom-metric selector requests; absent when standalone. */
  kube?: ObjectLister;
  /** Resource names and kinds as the cluster serves them; absent: the built-in table (standalone). */
  resources?: ResourceResolver;
}
