import type { GroupResource } from '../api/group-resource.js';
import { formatGroupResource } from '../api/resources.js';
import type { LabelSelector } from '../api/selector.js';
import type { MetricApi, UndiscoveredSource } from '../api/unknown-metric.js';
import type { CacheCaller } from '../cache/query-cache.js';

/**
 * The whole contract between the Kubernetes API layer and a metrics backend.
 *
 * The HTTP layer parses and validates every request before it calls a provider, so a
 * provider sees only well-formed names and parsed selectors. A provider answers with plain
 * samples (numbers and the time they were observed); turning them into Kubernetes objects
 * and quantities is the API layer's job. Failures are thrown as `ApiError` with the reason
 * the caller should see (NotFound when there is no data, ServiceUnavailable when the backend
 * cannot be reached, BadRequest when the backend refuses the query).
 *
 * Three rules keep a cached hit cheap; a backend keeps them by using the cache as it is meant:
 * - Each request carries a `deadline` (src/lib/deadline.ts) whose `signal` may be made on first
 *   read. Read it only right before waiting on I/O, or hand the request itself to
 *   `QueryCache.fetch`, which reads it only on a miss.
 * - Anything a backend remembers per request shape (a rendered query, say) is keyed by strings
 *   built from the request's values (a selector's canonical `toString()`), never by the identity
 *   of the request's objects: the HTTP layer promises nothing about handing the same object out.
 * - An answer the backend hands out again unchanged is the very value `QueryCache.fetch` returned
 *   (or one of its elements). The cache marks those (`isCachedEntry`, src/cache/entry-identity.ts)
 *   and the HTTP layer keeps the body it rendered beside them; answers built per request are
 *   rendered per request. An answer a backend derives from cached entries and keeps, handing
 *   it out again while they stay the same, it marks with `markCachedEntry` when it keeps it.
 *   Never mutate an answer after returning it.
 */

/** A metric a custom-metrics provider can answer, as discovery announces it. */
export interface CustomMetricInfo {
  resource: GroupResource;
  metric: string;
  /** false for root-scoped resources such as nodes and namespaces. */
  namespaced: boolean;
}

export interface ExternalMetricInfo {
  metric: string;
}

/** A Kubernetes object the metric describes. namespace is absent for root-scoped objects. */
export interface ObjectRef {
  resource: GroupResource;
  namespace?: string;
  name: string;
}

export interface Sample {
  value: number;
  /** When the backend observed the value — not when we fetched it, so staleness is visible. */
  timestamp: Date;
  /** Seconds the value aggregates over (e.g. a rate window), when the backend knows it. */
  windowSeconds?: number;
}

export interface ObjectSample extends Sample {
  name: string;
}

/**
 * Every request is a CacheCaller: `deadline` says when to give up (read `deadline.signal` only right
 * before waiting, see above); `stalePolicy`, set by a metric's failure policy, travels with it to
 * the cache. A backend hands the request itself to `QueryCache.fetch`.
 */
export interface CustomMetricByNameRequest extends CacheCaller {
  object: ObjectRef;
  metric: string;
  /** metricLabelSelector: narrows which series of the metric count. Empty selects all. */
  metricSelector: LabelSelector;
}

export interface CustomMetricBySelectorRequest extends CacheCaller {
  resource: GroupResource;
  namespace?: string;
  /** labelSelector: which objects. Empty selects every object of the resource. */
  objectSelector: LabelSelector;
  metric: string;
  metricSelector: LabelSelector;
}

export interface ExternalMetricRequest extends CacheCaller {
  namespace: string;
  metric: string;
  /** labelSelector of the external API: selects the metric's series, not objects. */
  metricSelector: LabelSelector;
}

export interface ExternalSample extends Sample {
  labels: Record<string, string>;
}

export interface CustomMetricsProvider {
  /**
   * The value for exactly one object. Throws NotFound when the object has no data. Like an
   * external answer, the sample may be a cached one handed out again (see above).
   */
  getMetricByName(request: CustomMetricByNameRequest): Promise<Sample>;
  /**
   * One sample per matching object that has data; objects without data are left out. The
   * answer may be one handed out again while neither the selected objects nor the backend's
   * cached values changed; the backend then marks it as a cached entry (see above), and the HTTP
   * layer keeps its rendered body beside it.
   */
  getMetricBySelector(request: CustomMetricBySelectorRequest): Promise<readonly ObjectSample[]>;
  /**
   * Every metric the provider can answer now. Called on every discovery request, so it must
   * be cheap and must not fail: keep a list refreshed in the background.
   *
   * Identity: the same array (and the same elements) while what it announces is unchanged, a new
   * array when it changes. The router merges the backends' lists only when one of them is a new
   * array, and discovery (server/discovery/metrics-source.ts, catalog.ts) re-renders its documents
   * only then: a list built per call would cost a merge and a render on every discovery request.
   */
  listCustomMetrics(): readonly CustomMetricInfo[];
  /**
   * Whether listCustomMetrics() announces `metric` for `resource` now. The router asks on every
   * request to pick the backend, so answer from a map the backend keeps (keyed by
   * customMetricKey), never by scanning the list.
   */
  servesCustom(resource: GroupResource, metric: string): boolean;
}

export interface ExternalMetricsProvider {
  /**
   * One sample per selected series. An empty list is allowed; the API layer decides what it means.
   * The list is read-only: a backend may hand a cached answer out again, the same array, to later
   * callers (see above: the cache marks it, and the HTTP layer keeps the rendered body beside it).
   */
  getExternalMetric(request: ExternalMetricRequest): Promise<readonly ExternalSample[]>;
  /** Same rules as listCustomMetrics, the same array while unchanged included. */
  listExternalMetrics(): readonly ExternalMetricInfo[];
  /** Whether listExternalMetrics() announces `metric` now; same rules as servesCustom. */
  servesExternal(metric: string): boolean;
}

/** A custom metric's name as discovery shows it (`pods/http_requests`), and the key to keep it by. */
export function customMetricKey(resource: GroupResource, metric: string): string {
  return `${formatGroupResource(resource)}/${metric}`;
}

/**
 * A backend: one folder under providers/, each supplying either or both halves.
 *
 * Wrappers: the registry hands out a backend wrapped in its failure policy
 * (failure-policy/policy-backend.ts), made with `Object.create(backend)` and given its own
 * `custom` and `external`. Everything else (`name`, `start`, `close`, and whatever a backend adds,
 * such as PrometheusBackend.serverOfMetric) is the backend's own, read through the prototype. So
 * a backend keeps its state in closures or on itself, never relies on `this` being the object it
 * returned, and is reached through the wrapper like any property; a wrapper's lists are the
 * backend's own arrays, so the identity rule above holds through it.
 */
export interface MetricsBackend {
  /** Short name used in logs, metrics and error messages: `prometheus`, `sqs`, `static`. */
  readonly name: string;
  readonly custom?: CustomMetricsProvider;
  readonly external?: ExternalMetricsProvider;
  /**
   * Its sources of `api` names whose discovery has never succeeded (a backend whose names come
   * from the config has none). While any is listed, a name no backend serves answers 503 naming
   * it, not 404 (the router's unknownMetricError). Called only for such names, so it may scan.
   */
  undiscovered?(api: MetricApi): readonly UndiscoveredSource[];
  /** Background work (relists, connections) starts here, not in the constructor. */
  start?(): Promise<void>;
  /** Release sockets and timers; called once on shutdown. */
  close?(): Promise<void>;
}
