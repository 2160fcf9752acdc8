import type { Request, Response } from 'express';
import { LRUCache } from 'lru-cache';
import { CUSTOM_GROUP, EXTERNAL_GROUP, RESOURCE_METRICS_GROUP, servedGroups } from '../../api/groups.js';
import { RESOURCE_METRICS_RESOURCES } from '../../api/resource-metrics.js';
import type { CustomMetricsProvider, ExternalMetricsProvider } from '../../providers/provider.js';
import type { ResourceMetricsSource } from '../../resource-metrics/provider.js';
import { DiscoveryCatalog } from '../discovery/catalog.js';
import { metricsDiscoverySource } from '../discovery/metrics-source.js';
import { JSON_ONLY, negotiate } from '../request/negotiate.js';
import { type CustomMetricPath, type ExternalMetricPath, notFoundPath } from '../request/parse-metric-path.js';
import { decodePathSegments } from '../request/path-segments.js';
import { answerDiscovery } from './discovery-documents.js';
import { createMetricReaders, type MetricRoute, type MetricsApiOptions } from './metrics-api.js';
import { createResourceMetricsRead, type ResourceMetricsRoute } from './resource-metrics-api.js';

export type ApiRoute =
  | { kind: 'discovery'; segments: string[] }
  | { kind: 'unserved' }
  | ({ kind: 'custom' } & MetricRoute<CustomMetricPath>)
  | ({ kind: 'external' } & MetricRoute<ExternalMetricPath>)
  | ({ kind: 'resource' } & ResourceMetricsRoute);

/**
 * Parsed URLs kept for the next identical request: an HPA asks the same URL every 15 s. Only
 * URLs that parsed into a metric request are kept, and the size of what a URL holds grows with
 * its length, so this stays within a few MiB whatever clients send.
 */
const ROUTE_MEMO = { max: 4096, maxSize: 8 * 1024 * 1024 };

/** What the /apis handler does with one request: `route` it, then (once authenticated) `serve` it. */
export interface ApisHandler {
  /**
   * The request's route: remembered for its URL, or found from its decoded path. Called before
   * authentication: a malformed path is a 400 there, as kube-apiserver refuses it.
   */
  route(req: Request): ApiRoute;
  serve(req: Request, res: Response, route: ApiRoute): Promise<void> | undefined;
}

/**
 * Everything under /apis: discovery up to `/apis/<group>/<version>`, metric reads past it. One
 * handler splits the path once and dispatches, rather than a router per kind of document
 * matching patterns in turn: this is the path of every HPA request.
 */
export function createApisHandler(
  options: MetricsApiOptions & {
    provider: CustomMetricsProvider & ExternalMetricsProvider;
    /** metrics.k8s.io: served while the running config has resourceRules (the source has a reader). */
    resourceMetrics?: ResourceMetricsSource;
  },
): ApisHandler {
  const read = createMetricReaders(options);
  const { resourceMetrics } = options;
  const readResources = resourceMetrics && createResourceMetricsRead({ ...options, source: resourceMetrics });
  const servesResourceMetrics = () => resourceMetrics?.current() !== undefined;
  // Our backends first: a name an upstream announces too is ours (mergeResources keeps the first).
  const sources = [
    metricsDiscoverySource(options.provider),
    ...(options.forwarding ? [options.forwarding] : []),
    resourceMetricsDiscovery,
  ];
  const catalog = new DiscoveryCatalog(() => servedGroups(servesResourceMetrics()), sources);
  const routes = new LRUCache<string, ApiRoute>({
    ...ROUTE_MEMO,
    sizeCalculation: (_route, url) => 4 * url.length + 1024,
  });
  return {
    route: (req) => routes.get(req.url) ?? routeOf(req.path, servesResourceMetrics()),
    // Not async: an HPA's request is answered in the reader's own promise, without another one around it.
    serve(req, res, route) {
      if (route.kind === 'discovery') {
        answerDiscovery(catalog, req, res, route.segments);
        return undefined;
      }
      if (route.kind === 'unserved') throw notFoundPath(req.path);
      negotiate(req.headers.accept, JSON_ONLY);
      if (route.kind === 'resource') return (readResources as NonNullable<typeof readResources>)(req, res, route);
      // Only parsed routes are remembered, so a route parsed before this read came from the memo.
      const remembered = route.parsed !== undefined;
      const reading = route.kind === 'custom' ? read.custom(req, res, route) : read.external(req, res, route);
      if (remembered) return reading;
      const remember = () => {
        if (route.parsed) routes.set(req.url, route);
      };
      return reading.finally(remember);
    },
  };
}

/** What metrics.k8s.io lists in every version while served: the same two resources, never an empty list. */
const resourceMetricsDiscovery = {
  resources: (group: string) => (group === RESOURCE_METRICS_GROUP ? RESOURCE_METRICS_RESOURCES : []),
};

function routeOf(path: string, servesResourceMetrics: boolean): ApiRoute {
  const segments = decodePathSegments(path);
  if (segments.length <= 3) return { kind: 'discovery', segments: segments.slice(1) };
  const [, group, version] = segments as [string, string, string];
  const rest = segments.slice(3);
  if (group === CUSTOM_GROUP) return { kind: 'custom', version, rest };
  if (group === EXTERNAL_GROUP) return { kind: 'external', version, rest };
  if (group === RESOURCE_METRICS_GROUP && servesResourceMetrics) return { kind: 'resource', version, rest };
  // A NotFound only once authenticated: an anonymous caller learns nothing of what is served.
  return { kind: 'unserved' };
}
