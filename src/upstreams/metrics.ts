import { Counter, Histogram, type Registry } from 'prom-client';

/** Per-upstream metrics. Made once per process and shared by the upstreams of every config reload. */
export interface UpstreamMetrics {
  requests: Counter<'upstream' | 'code'>;
  duration: Histogram<'upstream'>;
  failures: Counter<'upstream' | 'kind'>;
  discoveryRefreshes: Counter<'upstream' | 'result'>;
  collisions: Counter<'upstream'>;
}

export function createUpstreamMetrics(registry: Registry): UpstreamMetrics {
  return {
    requests: new Counter({
      name: 'hpa_metrics_adapter_upstream_requests_total',
      help: 'Metric requests forwarded to an upstream, by upstream and the status code it answered ("none" when it gave no answer).',
      labelNames: ['upstream', 'code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'hpa_metrics_adapter_upstream_request_duration_seconds',
      help: 'Time an upstream took to answer a forwarded metric request (cache hits not included).',
      labelNames: ['upstream'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'hpa_metrics_adapter_upstream_failures_total',
      help: 'Forwarded requests answered 503 by us because the upstream gave no usable answer, by kind (timeout, unreachable, too_large, budget, credentials, garbage).',
      labelNames: ['upstream', 'kind'],
      registers: [registry],
    }),
    discoveryRefreshes: new Counter({
      name: 'hpa_metrics_adapter_upstream_discovery_refreshes_total',
      help: "Background fetches of an upstream's discovery documents, by result (success, failure); on failure the last good documents stay in use.",
      labelNames: ['upstream', 'result'],
      registers: [registry],
    }),
    collisions: new Counter({
      name: 'hpa_metrics_adapter_upstream_collisions_total',
      help: 'Metric names an upstream announces that a backend of ours serves too (ours answer them), counted once per name.',
      labelNames: ['upstream'],
      registers: [registry],
    }),
  };
}
