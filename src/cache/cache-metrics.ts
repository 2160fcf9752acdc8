import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { perRegistry } from '../lib/per-registry.js';
import { DeferredCounter, type DeferredSeries } from '../observability/deferred-counter.js';
import { DeferredHistogram, type HistogramSeries } from '../observability/deferred-histogram.js';

const REQUEST_RESULTS = [
  'hit',
  'miss',
  'stale',
  'stale_while_revalidate',
  'negative_hit',
  'coalesced',
  'refresh',
] as const;
const LOAD_OUTCOMES = ['success', 'not_found', 'error', 'refused', 'aborted'] as const;
const EVICTION_REASONS = ['capacity', 'expired', 'oversize'] as const;

/** How a fetch was answered; one increment per call. */
export type RequestResult = (typeof REQUEST_RESULTS)[number];

/** What the gauges read from each live cache at scrape time. */
export interface CacheGaugeSource {
  readonly backend: string;
  stats(): { entries: number; bytes: number; inflight: number };
}

/** What a cache counts on every answer, one handle per label set (DeferredCounter, DeferredHistogram): no prom-client call per hit. */
export interface AnswerSeries {
  results: Record<RequestResult, DeferredSeries>;
  servedValueAge: HistogramSeries;
}

export interface CacheMetrics {
  requests: DeferredCounter<'backend' | 'result'>;
  evictions: Counter<'backend' | 'reason'>;
  loads: Counter<'backend' | 'outcome'>;
  /** Creates every counter series of `backend` at 0, so rates and alerts work before the first event. */
  initialise(backend: string): void;
  /** The handles a cache of `backend` counts its answers with. */
  answerSeries(backend: string): AnswerSeries;
  loadDuration: Histogram<'backend'>;
  servedValueAge: DeferredHistogram<'backend'>;
  /** The process-wide cache budget (cache.maxBytes), set by the CacheBudget at start and on reload. */
  budgetBytes: Gauge;
  /** Caches whose size the gauges report; a cache leaves the set when closed. */
  sources: Set<CacheGaugeSource>;
}

// Every backend's cache shares the adapter's registry: the metrics exist once per registry, labelled by backend.
export const cacheMetricsFor = perRegistry(createCacheMetrics);

function createCacheMetrics(registry: Registry): CacheMetrics {
  const sources = new Set<CacheGaugeSource>();
  const sumPerBackend = (gauge: Gauge<'backend'>, read: (stats: ReturnType<CacheGaugeSource['stats']>) => number) => {
    gauge.reset();
    for (const source of sources) gauge.inc({ backend: source.backend }, read(source.stats()));
  };
  const entries: Gauge<'backend'> = new Gauge({
    name: 'hpa_metrics_adapter_cache_entries',
    help: 'Entries held by the query cache (values and remembered NotFound answers).',
    labelNames: ['backend'],
    registers: [registry],
    collect: () => sumPerBackend(entries, (stats) => stats.entries),
  });
  const bytes: Gauge<'backend'> = new Gauge({
    name: 'hpa_metrics_adapter_cache_bytes',
    help: 'Estimated bytes held by the query cache, the figure bounded by maxBytes (all backends together by cache.maxBytes).',
    labelNames: ['backend'],
    registers: [registry],
    collect: () => sumPerBackend(bytes, (stats) => stats.bytes),
  });
  const inflight: Gauge<'backend'> = new Gauge({
    name: 'hpa_metrics_adapter_cache_inflight_loads',
    help: 'Backend loads running now, each shared by every caller waiting for its key.',
    labelNames: ['backend'],
    registers: [registry],
    collect: () => sumPerBackend(inflight, (stats) => stats.inflight),
  });
  const metrics: CacheMetrics = {
    sources,
    budgetBytes: new Gauge({
      name: 'hpa_metrics_adapter_cache_budget_bytes',
      help: 'The bytes every backend cache may hold together (cache.maxBytes); the sum of hpa_metrics_adapter_cache_bytes stays under it.',
      registers: [registry],
    }),
    initialise(backend) {
      for (const result of REQUEST_RESULTS) metrics.requests.counter.inc({ backend, result }, 0);
      for (const outcome of LOAD_OUTCOMES) metrics.loads.inc({ backend, outcome }, 0);
      for (const reason of EVICTION_REASONS) metrics.evictions.inc({ backend, reason }, 0);
    },
    answerSeries(backend) {
      const results = Object.fromEntries(
        REQUEST_RESULTS.map((result) => [result, metrics.requests.series({ backend, result })]),
      ) as Record<RequestResult, DeferredSeries>;
      return { results, servedValueAge: metrics.servedValueAge.series({ backend }) };
    },
    requests: new DeferredCounter({
      name: 'hpa_metrics_adapter_cache_requests_total',
      help: "Cache lookups by how they were answered: hit (fresh), miss (waited for a load it started), coalesced (waited for a load another caller started), stale (backend failed, an older value was served), stale_while_revalidate (every backend load slot was taken: a value expired less than staleWhileRevalidate ago was served and is being reloaded), negative_hit (a remembered NotFound), refresh (a background refresh of a key an HPA reads, src/refresh; not an HPA's request).",
      labelNames: ['backend', 'result'],
      registers: [registry],
    }),
    evictions: new Counter({
      name: 'hpa_metrics_adapter_cache_evictions_total',
      help: 'Entries dropped: capacity (maxEntries, a backend section maxBytes or the process budget cache.maxBytes reached, least recently used first), expired (too old even to serve stale), oversize (a single value larger than maxBytes, never stored).',
      labelNames: ['backend', 'reason'],
      registers: [registry],
    }),
    loads: new Counter({
      name: 'hpa_metrics_adapter_cache_backend_loads_total',
      help: 'Backend loads started by the cache, by outcome: success, not_found, error, refused (our own limiter was full; the backend was not asked), aborted (every caller gave up).',
      labelNames: ['backend', 'outcome'],
      registers: [registry],
    }),
    loadDuration: new Histogram({
      name: 'hpa_metrics_adapter_cache_backend_load_duration_seconds',
      help: 'Duration of backend loads started by the cache, whatever their outcome.',
      labelNames: ['backend'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    servedValueAge: new DeferredHistogram({
      name: 'hpa_metrics_adapter_cache_served_value_age_seconds',
      help: 'Time since the served value was loaded from the backend, at the moment it is served.',
      labelNames: ['backend'],
      buckets: [0.1, 1, 2.5, 5, 10, 15, 20, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
  };
  return metrics;
}
