import type { Request, Response } from 'express';
import { ApiError } from '../../api/errors.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP } from '../../api/groups.js';
import type { CustomMetricsProvider, ExternalMetricsProvider } from '../../providers/provider.js';
import { notFoundPath } from '../request/parse-metric-path.js';
import { answerDiscovery } from './discovery.js';
import { createMetricReaders, type MetricsApiOptions } from './metrics-api.js';

/**
 * Everything under /apis: discovery up to `/apis/<group>/<version>`, metric reads past it. One
 * handler splits the path once and dispatches, rather than a router per kind of document
 * matching patterns in turn: this is the path of every HPA request.
 */
export function createApisHandler(
  options: MetricsApiOptions & { provider: CustomMetricsProvider & ExternalMetricsProvider },
) {
  const read = createMetricReaders(options);
  return async (req: Request, res: Response): Promise<void> => {
    // Split the raw path: decoding first would let an encoded `%2F` smuggle in a path segment.
    const segments = req.path.split('/').filter((s) => s.length > 0);
    if (segments.length <= 3) {
      answerDiscovery(options.provider, res, segments.slice(1).map(decodeSegment));
      return;
    }
    const group = decodeSegment(segments[1] as string);
    const version = decodeSegment(segments[2] as string);
    const rest = segments.slice(3);
    if (group === CUSTOM_GROUP) return read.custom(req, res, version, rest);
    if (group === EXTERNAL_GROUP) return read.external(req, res, version, rest);
    throw notFoundPath(req.path);
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw ApiError.badRequest(`malformed percent-encoding in path segment "${segment.slice(0, 120)}"`);
  }
}
