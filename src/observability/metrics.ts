import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { DeferredCounter } from './deferred-counter.js';
import { DeferredHistogram } from './deferred-histogram.js';

/** The adapter's own metrics. The registry is passed in so tests and benchmarks get their own. */
export interface AdapterMetrics {
  registry: Registry;
  /** Counted once per request: deferred, see DeferredCounter. */
  requests: DeferredCounter<'group' | 'version' | 'verb' | 'code'>;
  /** Observed once per request: deferred, see DeferredHistogram. */
  requestDuration: DeferredHistogram<'group' | 'verb' | 'code'>;
  /** Requests being served; a plain count the in-flight gauge reads when scraped, not a gauge update per request. */
  inflight: { count: number };
  authorizationDecisions: Counter<'decision'>;
}

export function createAdapterMetrics(registry = new Registry(), collectProcessMetrics = true): AdapterMetrics {
  if (collectProcessMetrics) collectDefaultMetrics({ register: registry, prefix: 'hpa_metrics_adapter_' });
  const inflight = { count: 0 };
  new Gauge({
    name: 'hpa_metrics_adapter_requests_in_flight',
    help: 'API requests being served right now.',
    registers: [registry],
    collect() {
      this.set(inflight.count);
    },
  });
  return {
    registry,
    requests: new DeferredCounter({
      name: 'hpa_metrics_adapter_requests_total',
      help: 'API requests served, by API group, version, verb (get, list, discovery, health) and HTTP status code.',
      labelNames: ['group', 'version', 'verb', 'code'],
      registers: [registry],
    }),
    requestDuration: new DeferredHistogram({
      name: 'hpa_metrics_adapter_request_duration_seconds',
      help: 'Time from request arrival to the last byte of the response, by API group, verb and code.',
      labelNames: ['group', 'verb', 'code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inflight,
    authorizationDecisions: new Counter({
      name: 'hpa_metrics_adapter_authorization_decisions_total',
      help: 'Authorization outcomes for metrics requests (allowed, denied, error).',
      labelNames: ['decision'],
      registers: [registry],
    }),
  };
}
