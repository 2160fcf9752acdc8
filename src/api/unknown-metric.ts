import { clip } from '../lib/text.js';
import { ApiError } from './errors.js';

/**
 * A source of metric names whose discovery has never succeeded: a Prometheus server whose series
 * discovery has always failed, an upstream whose discovery document was never read. While one is,
 * a name nobody announces may well be one it serves, so "not served" would be a guess.
 */
export interface UndiscoveredSource {
  /** Who, as the user configured it: `prometheus server "default" (http://…)`, `upstream "keda" (https://…)`. */
  source: string;
  /** Its last discovery error, in the backend's own words (AMP's, say). */
  error: string;
}

/** Which API a name was asked of; sources whose rules or group-versions serve only the other one do not count. */
export type MetricApi = 'custom' | 'external';

/**
 * The answer to a metric name nothing announces: 404 once every source has been discovered,
 * else 503 naming each undiscovered source and its last error (the cause, not only the log's).
 * `what` names the request (`external metric "jobs_waiting"`); `served` is where the names are listed.
 */
export function unknownMetricError(
  what: string,
  served: string,
  undiscovered: readonly UndiscoveredSource[],
): ApiError {
  if (undiscovered.length === 0) {
    return ApiError.notFound(`${what} is not served by any configured backend (see ${served} for the served metrics)`);
  }
  const sources = undiscovered.map(({ source, error }) => `${source}: ${clip(error, 600)}`).join('; ');
  return ApiError.unavailable(
    `${what} is unknown while discovery has never succeeded for ${sources} — it may be served once discovery succeeds`,
  );
}
