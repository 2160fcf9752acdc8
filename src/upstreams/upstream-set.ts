import type { GroupResource } from '../api/group-resource.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP } from '../api/groups.js';
import type { ApiResource } from '../api/legacy-discovery.js';
import type { MetricApi, UndiscoveredSource } from '../api/unknown-metric.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { Logger } from '../observability/logger.js';
import { UpstreamClient } from './client.js';
import type { UpstreamConfig } from './config.js';
import type { Forwarding, ForwardTarget } from './forwarding.js';
import type { UpstreamMetrics } from './metrics.js';
import { Upstream } from './upstream.js';
import { type OwnsName, UpstreamDiscovery } from './upstream-discovery.js';

/** What our own backends serve; upstreams take only what this says no to. */
export interface OwnMetrics {
  servesExternal(metric: string): boolean;
  servesCustom(resource: GroupResource, metric: string): boolean;
  ownsName: OwnsName;
}

export interface UpstreamRoute {
  upstream: Upstream;
  /** announced: in its discovery; pattern: matches `metrics.matching`; unserved: `metrics.unserved`. */
  why: 'announced' | 'pattern' | 'unserved';
}

export interface UpstreamDeps {
  logger: Logger;
  metrics: UpstreamMetrics;
  /** The cache for an upstream with `cache: true`. */
  cacheFor(name: string): QueryCache;
}

/**
 * The configured upstreams, in config order, as one routing table and one discovery source.
 * A metric a backend of ours serves is never forwarded; otherwise the first upstream that
 * announces it or matches one of its patterns takes it, then the first with `unserved: true`.
 */
export class UpstreamSet implements Forwarding {
  constructor(
    private upstreams: readonly Upstream[],
    private readonly ours: OwnMetrics,
  ) {}

  get current(): readonly Upstream[] {
    return this.upstreams;
  }

  /** Swaps in the upstreams of a reloaded config; returns the old ones for the caller to close. */
  replace(next: readonly Upstream[]): readonly Upstream[] {
    const previous = this.upstreams;
    this.upstreams = next;
    return previous;
  }

  hasUpstreams(): boolean {
    return this.upstreams.length > 0;
  }

  upstreamFor(target: ForwardTarget): Upstream | undefined {
    if (this.upstreams.length === 0) return undefined;
    return this.route(target)?.upstream;
  }

  route(target: ForwardTarget): UpstreamRoute | undefined {
    const ours = target.resource
      ? this.ours.servesCustom(target.resource, target.metric)
      : this.ours.servesExternal(target.metric);
    if (ours) return undefined;
    const groupVersion = `${target.group}/${target.version}`;
    let fallback: Upstream | undefined;
    for (const upstream of this.upstreams) {
      if (!upstream.serves(groupVersion)) continue;
      const why = upstream.claim(target.group, target.version, target.discoveryName, target.metric);
      if (why) return { upstream, why };
      if (upstream.config.metrics.unserved) fallback ??= upstream;
    }
    return fallback && { upstream: fallback, why: 'unserved' };
  }

  /**
   * The upstreams routed by announced names whose discovery of an `api` group-version was never
   * read (down since start, or a CA file it cannot read): a name they may serve is unknown yet.
   */
  undiscovered(api: MetricApi): UndiscoveredSource[] {
    const group = api === 'custom' ? CUSTOM_GROUP : EXTERNAL_GROUP;
    return this.upstreams
      .filter((upstream) => upstream.config.metrics.announced)
      .flatMap((upstream) =>
        upstream.discovery.neverFetched(group).map(({ groupVersion, error }) => ({
          source: `upstream "${upstream.name}" (${upstream.client.url}, ${groupVersion})`,
          error,
        })),
      );
  }

  /** Every upstream's announced resources of a group-version, in config order (discovery keeps the first of a name). */
  resources(group: string, version: string): readonly ApiResource[] {
    if (this.upstreams.length === 0) return [];
    if (this.upstreams.length === 1) return (this.upstreams[0] as Upstream).discovery.resources(group, version);
    return this.upstreams.flatMap((u) => u.discovery.resources(group, version));
  }

  /** Builds the upstreams of a config and starts their discovery (without waiting for it). */
  static async build(configs: readonly UpstreamConfig[], ours: OwnMetrics, deps: UpstreamDeps): Promise<Upstream[]> {
    const upstreams: Upstream[] = [];
    for (const config of configs) {
      if (config.insecureSkipTLSVerify) {
        deps.logger.warn(
          { upstream: config.name, url: config.url },
          `upstream "${config.name}": insecureSkipTLSVerify is set, its certificate is not verified and anyone who can intercept ${config.url} can answer for it; set caFile instead`,
        );
      }
      const client = new UpstreamClient(config);
      await client.connect().catch((error: unknown) => {
        deps.logger.error(
          { upstream: config.name },
          `upstream "${config.name}": ${(error as Error).message}; its metrics answer 503 until the file can be read`,
        );
      });
      const discovery = new UpstreamDiscovery(config, client, {
        logger: deps.logger,
        metrics: deps.metrics,
        ownsName: ours.ownsName,
      });
      upstreams.push(
        new Upstream(config, client, discovery, deps.metrics, config.cache ? deps.cacheFor(config.name) : undefined),
      );
    }
    for (const upstream of upstreams) upstream.discovery.start();
    return upstreams;
  }
}

export async function closeUpstreams(upstreams: readonly Upstream[]): Promise<void> {
  await Promise.allSettled(upstreams.map((u) => u.close()));
}
