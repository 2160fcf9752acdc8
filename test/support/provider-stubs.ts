import type { CustomMetricsProvider } from '../../src/providers/provider.js';

/** A custom metrics provider for tests that only ask external metrics: it serves none and fails if asked. */
export function unaskedCustomProvider(): CustomMetricsProvider {
  return {
    getMetricByName: () => Promise.reject(new Error('not asked')),
    getMetricBySelector: () => Promise.reject(new Error('not asked')),
    listCustomMetrics: () => [],
    servesCustom: () => false,
  };
}
