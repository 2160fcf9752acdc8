import { ApiError } from '../../api/errors.js';
import { clip } from '../../lib/text.js';

/** What a Prometheus HTTP API call answered, its body parsed as it arrived. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  /** The body as JSON; undefined when it is not JSON. */
  json: unknown;
  /** The body's first bytes as text, for messages. */
  head: string;
}

export interface PromSample {
  labels: Record<string, string>;
  value: number;
  timestamp: Date;
}

export interface QueryResult {
  resultType: 'vector' | 'scalar';
  samples: PromSample[];
}

const QUOTED_QUERY_LIMIT = 300;

interface ApiEnvelope {
  status?: unknown;
  data?: unknown;
  errorType?: unknown;
  error?: unknown;
}

/**
 * The `data` of a success envelope; anything else is an ApiError naming the server and what it
 * said: 400 for a query Prometheus rejected (400, 422), 503 for the rest (`authHint` on 401/403).
 */
export function interpret(response: HttpAnswer, query: string, url: string, authHint: string): unknown {
  const envelope =
    typeof response.json === 'object' && response.json !== null ? (response.json as ApiEnvelope) : undefined;
  if (response.status >= 200 && response.status < 300 && envelope?.status === 'success') return envelope.data;
  const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  if (envelope === undefined || typeof envelope.error !== 'string') {
    const hint = response.status === 401 || response.status === 403 ? authHint : '';
    throw ApiError.unavailable(
      `prometheus backend at ${url} answered ${status}${hint}: ${clip(response.head.trim(), 200)}`,
    );
  }
  const detail = `${envelope.errorType ?? 'error'}: ${envelope.error}`;
  if (response.status === 400 || response.status === 422) {
    throw ApiError.badRequest(`prometheus backend rejected the query ${clip(query, QUOTED_QUERY_LIMIT)}: ${detail}`);
  }
  throw ApiError.unavailable(
    `prometheus backend at ${url} failed the query ${clip(query, QUOTED_QUERY_LIMIT)} (${status}): ${detail}`,
  );
}

/** The `data` of a /api/v1/query answer; `url` names the server in errors. */
export function parseQueryData(data: unknown, url: string): QueryResult {
  const record = typeof data === 'object' && data !== null ? (data as { resultType?: unknown; result?: unknown }) : {};
  if (record.resultType === 'vector' && Array.isArray(record.result)) {
    return { resultType: 'vector', samples: record.result.map((item: unknown, i) => vectorSample(item, i, url)) };
  }
  if (record.resultType === 'scalar' && Array.isArray(record.result)) {
    return { resultType: 'scalar', samples: [{ labels: {}, ...pointOf(record.result, 'data.result', url) }] };
  }
  throw ApiError.badRequest(
    `prometheus backend at ${url} answered with a ${String(record.resultType)} result; metricsQuery must produce an instant vector`,
  );
}

/**
 * A malformed sample is the backend failing, not "no data": dropping it would turn into a 404
 * that the cache remembers over the last good value, and a timestamp no Date can hold would
 * become a 500 when the answer is rendered.
 */
function vectorSample(item: unknown, index: number, url: string): PromSample {
  const field = `data.result[${index}]`;
  if (typeof item !== 'object' || item === null) throw malformed(url, field, 'is not an object');
  const { metric, value } = item as { metric?: unknown; value?: unknown };
  if (!isStringRecord(metric)) throw malformed(url, `${field}.metric`, 'is not a map of label names to strings');
  return { labels: metric, ...pointOf(value, `${field}.value`, url) };
}

/** Prometheus writes sample values as Go floats: decimal or exponent notation, NaN and ±Inf. */
const GO_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|NaN)$/;
/** RFC 3339 renders years 0000–9999 only. */
const MAX_TIMESTAMP_SECONDS = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000;

function pointOf(pair: unknown, field: string, url: string): { value: number; timestamp: Date } {
  if (!Array.isArray(pair) || pair.length !== 2) throw malformed(url, field, 'is not a [timestamp, "value"] pair');
  const [time, text] = pair as [unknown, unknown];
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0 || time > MAX_TIMESTAMP_SECONDS)
    throw malformed(url, `${field}[0]`, `timestamp ${clip(JSON.stringify(time) ?? String(time), 40)} is not a time`);
  if (typeof text !== 'string' || !GO_FLOAT.test(text))
    throw malformed(url, `${field}[1]`, `value ${clip(JSON.stringify(text) ?? String(text), 40)} is not a number`);
  return { value: Number(text.replace(/Inf$/, 'Infinity')), timestamp: new Date(Math.round(time * 1000)) };
}

function malformed(url: string, field: string, problem: string): ApiError {
  return ApiError.unavailable(`prometheus backend at ${url} answered a malformed sample: ${field} ${problem}`);
}

export function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
}
