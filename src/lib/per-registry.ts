import type { Registry } from 'prom-client';
import { perObject } from './per-object.js';

/**
 * Metrics made once per registry and handed out again: prom-client refuses a metric name twice on
 * one registry, and every backend (and each one a config reload rebuilds) shares the adapter's.
 */
export function perRegistry<Metrics>(create: (registry: Registry) => Metrics): (registry: Registry) => Metrics {
  return perObject(create);
}
