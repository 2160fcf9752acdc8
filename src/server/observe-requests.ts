import { performance } from 'node:perf_hooks';
import type { Request, Response } from 'express';
import { ALL_GROUPS } from '../api/groups.js';
import { clip } from '../lib/text.js';
import type { Logger } from '../observability/logger.js';
import type { AdapterMetrics } from '../observability/metrics.js';
import { queryStringOf } from './request/query-string.js';

/** RED metrics and one debug log line per request, labelled by API group and verb; called as a request arrives. */
export function observeRequests(metrics: AdapterMetrics, logger: Logger) {
  return (req: Request, res: Response): void => {
    const started = performance.now();
    metrics.inflight.count++;
    // 'close' comes once per response: `on` spares the wrapper `once` would make per request.
    res.on('close', () => {
      metrics.inflight.count--;
      const seconds = (performance.now() - started) / 1000;
      const { group, version, verb } = classify(req.path);
      const code = String(res.statusCode);
      metrics.requests.inc({ group, version, verb, code });
      metrics.requestDuration.observe({ group, verb, code }, seconds);
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
