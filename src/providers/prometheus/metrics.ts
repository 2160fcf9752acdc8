import { Counter, Gauge, Histogram } from 'prom-client';
import { perRegistry } from '../../lib/per-registry.js';

/**
 * The Prometheus backend's own metrics: calls to Prometheus, relists, and what discovery announces,
 * each by `server` (the `prometheus.servers` name; `default` for the single-server form).
 */
export interface PrometheusBackendMetrics {
  calls: Counter<'server' | 'endpoint' | 'outcome'>;
  callDuration: Histogram<'server' | 'endpoint'>;
  relists: Counter<'server' | 'outcome'>;
  lastRelistSuccess: Gauge<'server'>;
  announced: Gauge<'server' | 'api'>;
  droppedSamples: Counter<'server'>;
}

export const prometheusMetricsFor = perRegistry(
  (registry): PrometheusBackendMetrics => ({
    calls: new Counter({
      name: 'hpa_metrics_adapter_prometheus_calls_total',
      help: 'HTTP calls to Prometheus by endpoint (query, series) and outcome (success, rejected, unavailable, aborted).',
      labelNames: ['server', 'endpoint', 'outcome'],
      registers: [registry],
    }),
    callDuration: new Histogram({
      name: 'hpa_metrics_adapter_prometheus_call_duration_seconds',
      help: 'Duration of HTTP calls to Prometheus, by endpoint.',
      labelNames: ['server', 'endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    relists: new Counter({
      name: 'hpa_metrics_adapter_prometheus_relists_total',
      help: 'Series discovery runs by outcome: success, or failure (the last good metric list keeps serving).',
      labelNames: ['server', 'outcome'],
      registers: [registry],
    }),
    lastRelistSuccess: new Gauge({
      name: 'hpa_metrics_adapter_prometheus_last_successful_relist_timestamp_seconds',
      help: 'Unix time of the last series discovery in which every seriesQuery answered.',
      labelNames: ['server'],
      registers: [registry],
    }),
    announced: new Gauge({
      name: 'hpa_metrics_adapter_prometheus_announced_metrics',
      help: 'Metrics the Prometheus rules announce in discovery, by API (custom, external).',
      labelNames: ['server', 'api'],
      registers: [registry],
    }),
    droppedSamples: new Counter({
      name: 'hpa_metrics_adapter_prometheus_dropped_samples_total',
      help: 'Query results left out because their value was NaN or infinite.',
      labelNames: ['server'],
      registers: [registry],
    }),
  }),
);
