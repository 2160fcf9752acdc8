import { performance } from 'node:perf_hooks';
import type { Request, Response } from 'express';
import { ALL_GROUPS } from '../api/groups.js';
import { clip } from '../lib/text.js';
import type { DeferredSeries } from '../observability/deferred-counter.js';
import type { HistogramSeries } from '../observability/deferred-histogram.js';
import type { Logger } from '../observability/logger.js';
import type { AdapterMetrics } from '../observability/metrics.js';
import { queryStringOf } from './request/query-string.js';

/** RED metrics and one debug log line per request, labelled by API group and verb; called as a request arrives. */
export function observeRequests(metrics: AdapterMetrics, logger: Logger) {
  const seriesOf = requestSeries(metrics);
  return (req: Request, res: Response): void => {
    const started = performance.now();
    metrics.inflight.count++;
    // 'close' comes once per response: `on` spares the wrapper `once` would make per request.
    res.on('close', () => {
      metrics.inflight.count--;
      const seconds = (performance.now() - started) / 1000;
      const series = seriesOf(req.path, res.statusCode);
      series.requests.count++;
      series.duration.observe(seconds);
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          {
            method: req.method,
            path: req.path,
            query: queryOf(req),
            code: res.statusCode,
            ms: Math.round(seconds * 1e4) / 10,
            user: res.locals.user?.name,
          },
          'request',
        );
      }
    });
  };
}

interface RequestSeries {
  requests: DeferredSeries;
  duration: HistogramSeries;
}

/** Paths remembered with their series: an HPA asks the same few paths again and again. */
const MAX_REMEMBERED_PATHS = 1024;
const MAX_REMEMBERED_PATH_LENGTH = 256;

/**
 * The series of a request by its path and status code. A path's classification and labels are
 * made once and remembered (up to MAX_REMEMBERED_PATHS short paths; when full, forgotten and
 * started again), so an answered request makes no label objects.
 */
function requestSeries(metrics: AdapterMetrics): (path: string, status: number) => RequestSeries {
  const byPath = new Map<string, Map<number, RequestSeries>>();
  const make = (path: string, status: number): RequestSeries => {
    const { group, version, verb } = classify(path);
    const code = String(status);
    return {
      requests: metrics.requests.series({ group, version, verb, code }),
      duration: metrics.requestDuration.series({ group, verb, code }),
    };
  };
  return (path, status) => {
    if (path.length > MAX_REMEMBERED_PATH_LENGTH) return make(path, status);
    let byStatus = byPath.get(path);
    if (!byStatus) {
      if (byPath.size >= MAX_REMEMBERED_PATHS) byPath.clear();
      byStatus = new Map();
      byPath.set(path, byStatus);
    }
    let series = byStatus.get(status);
    if (!series) {
      series = make(path, status);
      byStatus.set(status, series);
    }
    return series;
  };
}

const HEALTH_PATHS: ReadonlySet<string> = new Set(['healthz', 'livez', 'readyz', 'version', 'metrics']);

function classify(path: string): { group: string; version: string; verb: string } {
  const [first, second, third, fourth] = leadingSegments(path);
  const group = first === 'apis' ? ALL_GROUPS.find((g) => g.name === second) : undefined;
  if (group) {
    // Only served versions become label values: any other path segment would let each
    // made-up URL add a metrics series (memory, scrape size, Prometheus cardinality).
    const segment = third ?? '';
    const version = segment === '' || group.versions.includes(segment) ? segment : 'other';
    // Past /apis/<group>/<version>, a path is a metric read; up to it, discovery.
    const verb = fourth !== undefined && fourth !== '' ? 'get' : 'discovery';
    return { group: group.name, version, verb };
  }
  if (first === 'apis') return { group: '', version: '', verb: 'discovery' };
  if (first === 'openapi') return { group: '', version: '', verb: 'openapi' };
  if (HEALTH_PATHS.has(first ?? '')) return { group: '', version: '', verb: 'health' };
  return { group: '', version: '', verb: 'other' };
}

/** The first four segments of a path (`/a/b/c/d/…`), without splitting all of it: paths can be 8 KiB. */
function leadingSegments(path: string): (string | undefined)[] {
  const segments: (string | undefined)[] = [];
  let start = 1;
  while (segments.length < 4 && start <= path.length) {
    const end = path.indexOf('/', start);
    segments.push(path.slice(start, end === -1 ? path.length : end));
    if (end === -1) break;
    start = end + 1;
  }
  return segments;
}

function queryOf(req: Request): string | undefined {
  const query = queryStringOf(req);
  return query === '' ? undefined : clip(query, 512);
}
