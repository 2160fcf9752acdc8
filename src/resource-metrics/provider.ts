import type { NodeUsage, PodUsage } from '../api/resource-metrics.js';
import type { LabelSelector } from '../api/selector.js';
import type { CacheCaller } from '../cache/query-cache.js';

/**
 * The contract between the HTTP layer and whatever computes CPU and memory usage (metrics.k8s.io),
 * the way providers/provider.ts is the contract for custom and external metrics. The HTTP layer
 * parses paths, selectors and `fieldSelector=metadata.name=`, and turns the answer into
 * NodeMetrics/PodMetrics; a reader only lists objects and asks its backend.
 *
 * - Objects without usable data are left out of a list, as metrics-server and prometheus-adapter
 *   do; `name` narrows the list to one object (a get, or a field selector), and an empty answer
 *   then means NotFound to the HTTP layer.
 * - Failures are ApiErrors: ServiceUnavailable when the backend or the API server cannot answer,
 *   BadRequest for a selector the reader cannot apply.
 * - Each request is a CacheCaller: read `deadline.signal` only right before waiting on I/O.
 * - An answer handed out again unchanged (kept while the listed objects and the cached samples it
 *   was joined from stay the same) carries the cache's entry identity (`markCachedEntry`), so the
 *   HTTP layer keeps the body it rendered beside it; never mutate an answer.
 */
export interface ResourceMetricsReader {
  pods(request: PodUsageRequest): Promise<readonly PodUsage[]>;
  nodes(request: NodeUsageRequest): Promise<readonly NodeUsage[]>;
}

export interface PodUsageRequest extends CacheCaller {
  /** undefined: every namespace. */
  namespace?: string;
  /** Only the pod of this name. */
  name?: string;
  /** labelSelector on the pods; empty selects all. */
  selector: LabelSelector;
}

export interface NodeUsageRequest extends CacheCaller {
  name?: string;
  selector: LabelSelector;
}

/**
 * The reader of the running config: the config can be reloaded, so the HTTP layer asks for the
 * current one on each request; undefined while the running config has no resourceRules, and the
 * group is then not served at all (discovery, OpenAPI and reads), as after a start without them.
 */
export interface ResourceMetricsSource {
  current(): ResourceMetricsReader | undefined;
}
