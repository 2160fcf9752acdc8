import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import { ApiError, type StatusReason } from '../../api/errors.js';
import type { CacheCaller, StalePolicy } from '../../cache/query-cache.js';
import { perRegistry } from '../../lib/per-registry.js';
import type { Logger } from '../../observability/logger.js';
import { pinnedLabels } from '../aws/selector-labels.js';
import type {
  CustomMetricByNameRequest,
  CustomMetricBySelectorRequest,
  CustomMetricsProvider,
  ExternalMetricRequest,
  ExternalMetricsProvider,
  ExternalSample,
  MetricsBackend,
  ObjectSample,
  Sample,
} from '../provider.js';
import type { FailurePolicy } from './config.js';

/** Why a fallback was served, the `reason` label of hpa_metrics_adapter_fallbacks_total. */
export type FallbackReason = 'last_good' | 'error_value' | 'no_data_value';

export interface FailurePolicyDeps {
  registry: Registry;
  logger: Logger;
  now: () => Date;
}

// Failures a fallback may stand in for: the backend could not answer. A refused query
// (BadRequest, Forbidden) is the asker's problem and always reaches them.
const BACKEND_FAILURES: ReadonlySet<StatusReason> = new Set([
  'ServiceUnavailable',
  'Timeout',
  'TooManyRequests',
  'InternalError',
]);

/** Series whose fallback state is remembered for logging transitions; beyond it the oldest is forgotten. */
const MAX_TRACKED_SERIES = 10_000;

/**
 * Wraps a backend so each of its metrics answers failures and missing data as its policy says
 * (see failurePolicySchema). The one place fallbacks happen for every backend: the last good
 * value is the cache's (the policy's maxStale travels to it with the request), fixed values
 * are put in here. Every fallback served is counted by metric and reason, and logged when a
 * series starts or stops being served one.
 */
export function withFailurePolicy(
  backend: MetricsBackend,
  policyFor: (metric: string) => FailurePolicy,
  deps: FailurePolicyDeps,
): MetricsBackend {
  const fallbacks = fallbackCounter(deps.registry);
  // Made at the first fallback: an LRUCache allocates its whole table up front (~150 KB at 10,000
  // entries), and definitions build one backend per namespace, most never serving a fallback.
  let states: LRUCache<string, FallbackReason> | undefined;

  const served = (metric: string, series: string, reason: FallbackReason, why: unknown): void => {
    fallbacks.inc({ backend: backend.name, metric, reason });
    states ??= new LRUCache<string, FallbackReason>({ max: MAX_TRACKED_SERIES });
    if (states.get(series) === reason) return;
    states.set(series, reason);
    deps.logger.warn(
      { backend: backend.name, metric, series, reason, error: why instanceof Error ? why.message : String(why) },
      'serving a fallback value for the metric (its failure policy)',
    );
  };
  // A series is named only while one serves a fallback: an answered request pays nothing here then.
  const answered = (metric: string, series: () => string): void => {
    if (!states || states.size === 0) return;
    const name = series();
    if (!states.has(name)) return;
    states.delete(name);
    deps.logger.info({ backend: backend.name, metric, series: name }, 'the metric is answered by its backend again');
  };

  /** The request as the backend sees it, with the policy's stale bound for the cache (see CacheCaller). */
  const bounded = <R extends CacheCaller>(
    request: R,
    metric: string,
    series: () => string,
    policy: FailurePolicy,
  ): R => {
    const maxStaleMs = policy.onError === 'lastGood' ? policy.maxStaleMs : 0;
    // Not `{ ...request, stalePolicy }`: on Node 20 a spread followed by another property costs ~1 µs, Object.assign ~0.1.
    return Object.assign({}, request, { stalePolicy: new StaleFallback(maxStaleMs, metric, series, served) });
  };

  /** The value the policy puts in for `error`, or undefined when the error stands. */
  const substitute = (policy: FailurePolicy, error: unknown, signal: () => AbortSignal): number | undefined => {
    if (!(error instanceof ApiError)) return undefined;
    if (error.reason === 'NotFound') return policy.noData === 'error' ? undefined : policy.noData;
    if (!BACKEND_FAILURES.has(error.reason) || typeof policy.onError !== 'number') return undefined;
    // A request that has already ended gets its own error, not a value nobody reads.
    return signal().aborted ? undefined : policy.onError;
  };

  const inner = { external: backend.external, custom: backend.custom };
  const external: ExternalMetricsProvider | undefined = inner.external && {
    listExternalMetrics: () => inner.external?.listExternalMetrics() ?? [],
    servesExternal: (metric) => inner.external?.servesExternal(metric) ?? false,
    async getExternalMetric(request: ExternalMetricRequest): Promise<readonly ExternalSample[]> {
      if (!inner.external) return [];
      const policy = policyFor(request.metric);
      const series = () => `${request.namespace}/${request.metric}{${request.metricSelector.toString()}}`;
      const fallback = (value: number): ExternalSample[] => [
        { labels: pinnedLabels(request.metricSelector), value, timestamp: deps.now() },
      ];
      let samples: readonly ExternalSample[];
      try {
        samples = await inner.external.getExternalMetric(bounded(request, request.metric, series, policy));
      } catch (error) {
        // A background refresh (HPA-aware refresh) takes no fallback: nobody reads its answer.
        const value = request.refresh ? undefined : substitute(policy, error, () => request.deadline.signal);
        if (value === undefined) throw error;
        served(request.metric, series(), reasonOf(error), error);
        return fallback(value);
      }
      if (samples.length === 0 && policy.noData !== 'error' && !request.refresh) {
        served(request.metric, series(), 'no_data_value', 'no series matched');
        return fallback(policy.noData);
      }
      answered(request.metric, series);
      return samples;
    },
  };

  const custom: CustomMetricsProvider | undefined = inner.custom && {
    listCustomMetrics: () => inner.custom?.listCustomMetrics() ?? [],
    servesCustom: (resource, metric) => inner.custom?.servesCustom(resource, metric) ?? false,
    async getMetricByName(request: CustomMetricByNameRequest): Promise<Sample> {
      if (!inner.custom) throw ApiError.internal(`${backend.name} has no custom metrics`);
      const policy = policyFor(request.metric);
      const { object } = request;
      const series = () => `${object.namespace ?? ''}/${object.resource.resource}/${object.name}/${request.metric}`;
      try {
        const sample = await inner.custom.getMetricByName(bounded(request, request.metric, series, policy));
        answered(request.metric, series);
        return sample;
      } catch (error) {
        // A background refresh (HPA-aware refresh) takes no fallback: nobody reads its answer.
        const value = request.refresh ? undefined : substitute(policy, error, () => request.deadline.signal);
        if (value === undefined) throw error;
        served(request.metric, series(), reasonOf(error), error);
        return { value, timestamp: deps.now() };
      }
    },
    // Which objects a selector names is not known when the backend fails or has none, so only
    // the stale bound applies here: a fixed value cannot be given to objects nobody listed.
    async getMetricBySelector(request: CustomMetricBySelectorRequest): Promise<readonly ObjectSample[]> {
      if (!inner.custom) return [];
      const series = () =>
        `${request.namespace ?? ''}/${request.resource.resource}/${request.metric}{${request.objectSelector.toString()}}`;
      return inner.custom.getMetricBySelector(bounded(request, request.metric, series, policyFor(request.metric)));
    },
  };

  // Everything else (name, start, close, what a backend adds) is the backend's own.
  return Object.assign(Object.create(backend) as MetricsBackend, { external, custom });
}

/**
 * The stale bound a request carries to the cache; names its series only when the cache serves it
 * a stale value, so a hit builds no series name.
 */
class StaleFallback implements StalePolicy {
  constructor(
    readonly maxStaleMs: number | undefined,
    private readonly metric: string,
    private readonly series: () => string,
    private readonly served: (metric: string, series: string, reason: FallbackReason, why: unknown) => void,
  ) {}

  onStale(_ageMs: number, error: unknown): void {
    this.served(this.metric, this.series(), 'last_good', error);
  }
}

function reasonOf(error: unknown): FallbackReason {
  return error instanceof ApiError && error.reason === 'NotFound' ? 'no_data_value' : 'error_value';
}

const fallbackCounter = perRegistry(
  (registry) =>
    new Counter({
      name: 'hpa_metrics_adapter_fallbacks_total',
      help: 'Answers a metric got from its failure policy instead of its backend (last good value, fixed value on error, value on no data), by backend, metric and reason.',
      labelNames: ['backend', 'metric', 'reason'],
      registers: [registry],
    }),
);
