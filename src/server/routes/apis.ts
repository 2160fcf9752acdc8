import type { Request, Response } from 'express';
import { LRUCache } from 'lru-cache';
import { ApiError } from '../../api/errors.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP, SERVED_GROUPS } from '../../api/groups.js';
import { clip } from '../../lib/text.js';
import type { CustomMetricsProvider, ExternalMetricsProvider } from '../../providers/provider.js';
import { DiscoveryCatalog } from '../discovery/catalog.js';
import { metricsDiscoverySource } from '../discovery/metrics-source.js';
import { JSON_ONLY, negotiate } from '../request/negotiate.js';
import { type CustomMetricPath, type ExternalMetricPath, notFoundPath } from '../request/parse-metric-path.js';
import { answerDiscovery } from './discovery.js';
import { createMetricReaders, type MetricRoute, type MetricsApiOptions } from './metrics-api.js';

type ApiRoute =
  | { kind: 'discovery'; segments: string[] }
  | ({ kind: 'custom' } & MetricRoute<CustomMetricPath>)
  | ({ kind: 'external' } & MetricRoute<ExternalMetricPath>);

/**
 * Parsed URLs kept for the next identical request: an HPA asks the same URL every 15 s. Only
 * URLs that parsed into a metric request are kept, and the size of what a URL holds grows with
 * its length, so this stays within a few MiB whatever clients send.
 */
const ROUTE_MEMO = { max: 4096, maxSize: 8 * 1024 * 1024 };

/**
 * Everything under /apis: discovery up to `/apis/<group>/<version>`, metric reads past it. One
 * handler splits the path once and dispatches, rather than a router per kind of document
 * matching patterns in turn: this is the path of every HPA request.
 */
export function createApisHandler(
  options: MetricsApiOptions & { provider: CustomMetricsProvider & ExternalMetricsProvider },
) {
  const read = createMetricReaders(options);
  // Our backends first: a name an upstream announces too is ours (mergeResources keeps the first).
  const sources = [metricsDiscoverySource(options.provider), ...(options.forwarding ? [options.forwarding] : [])];
  const catalog = new DiscoveryCatalog(SERVED_GROUPS, sources);
  const routes = new LRUCache<string, ApiRoute>({
    ...ROUTE_MEMO,
    sizeCalculation: (_route, url) => 4 * url.length + 1024,
  });
  // Not async: an HPA's request is answered in the reader's own promise, without another one around it.
  return (req: Request, res: Response): Promise<void> | undefined => {
    const remembered = routes.get(req.url);
    const route = remembered ?? routeOf(req.path);
    if (route.kind === 'discovery') {
      answerDiscovery(catalog, req, res, route.segments);
      return undefined;
    }
    negotiate(req.headers.accept, JSON_ONLY);
    const reading = route.kind === 'custom' ? read.custom(req, res, route) : read.external(req, res, route);
    if (remembered) return reading;
    const remember = () => {
      if (route.parsed) routes.set(req.url, route);
    };
    return reading.finally(remember);
  };
}

function routeOf(path: string): ApiRoute {
  // Split the raw path: decoding first would let an encoded `%2F` smuggle in a path segment.
  const segments = path.split('/').filter((s) => s.length > 0);
  if (segments.length <= 3) return { kind: 'discovery', segments: segments.slice(1).map(decodeSegment) };
  const group = decodeSegment(segments[1] as string);
  const version = decodeSegment(segments[2] as string);
  const rest = segments.slice(3);
  if (group === CUSTOM_GROUP) return { kind: 'custom', version, rest };
  if (group === EXTERNAL_GROUP) return { kind: 'external', version, rest };
  throw notFoundPath(path);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw ApiError.badRequest(`malformed percent-encoding in path segment "${clip(segment, 120)}"`);
  }
}
