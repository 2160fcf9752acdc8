import type { Registry } from 'prom-client';

/**
 * Metrics made once per registry and handed out again: prom-client refuses a metric name twice on
 * one registry, and every backend (and each one a config reload rebuilds) shares the adapter's.
 */
export function perRegistry<Metrics>(create: (registry: Registry) => Metrics): (registry: Registry) => Metrics {
  const made = new WeakMap<Registry, Metrics>();
  return (registry) => {
    let metrics = made.get(registry);
    if (metrics === undefined) {
      metrics = create(registry);
      made.set(registry, metrics);
    }
    return metrics;
  };
}
