import type { GroupResource } from '../api/group-resource.js';
import type { DiscoverySource } from '../api/legacy-discovery.js';
import type { Deadline } from '../lib/deadline.js';

/**
 * What the HTTP layer sees of upstreams: after it has authenticated and authorized a metric
 * request (as for our own metrics), it asks whether an upstream answers it, and if so hands the
 * request's path and query over and sends back whatever comes back. As a discovery source it
 * announces what the upstreams announce (their placeholders left out), after our backends.
 */
export interface Forwarding extends DiscoverySource {
  /**
   * Whether any upstream is configured now (a reload may change it). Without one the HTTP layer
   * skips upstreamFor and the target it would build: every cached hit would pay for it.
   */
  hasUpstreams(): boolean;
  /**
   * The upstream that answers this metric, or undefined when a backend of ours serves it or no
   * upstream takes it. Answers from memory: it is asked on every metric request.
   */
  upstreamFor(target: ForwardTarget): ForwardingUpstream | undefined;
}

export interface ForwardTarget {
  group: string;
  version: string;
  /** The metric as discovery names it: `<metric>` (external) or `<resource>/<metric>` (custom). */
  discoveryName: string;
  metric: string;
  /** The object resource of a custom metric; absent for external metrics. */
  resource?: GroupResource;
}

export interface ForwardingUpstream {
  readonly name: string;
  /**
   * GETs `pathAndQuery` from the upstream. Resolves with its answer, 2xx or a Kubernetes Status,
   * to be sent back unchanged; throws a ServiceUnavailable ApiError naming the upstream and why
   * when it gives no usable answer (down, slow past its timeout or `caller`'s deadline, garbage).
   */
  forward(pathAndQuery: string, metric: string, deadline: Deadline): Promise<UpstreamAnswer>;
}

/**
 * What an upstream answered: its status code, content type and body, the bytes as they came (sent
 * on unchanged, never made text). The bytes count in the process-wide response budget until
 * `release` is called: once the answer has been written to the client that asked for it, or once
 * the cache holds it (the cache's own budget counts it from then on). Later calls do nothing.
 */
export interface UpstreamAnswer {
  status: number;
  contentType: string;
  body: Buffer;
  release(): void;
}
