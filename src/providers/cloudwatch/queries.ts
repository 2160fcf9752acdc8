import type { MetricDataQuery, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { ApiError } from '../../api/errors.js';
import { type CloudWatchMetricConfig, SELECTOR_PLACEHOLDER } from './config.js';

/** A GetMetricData time range in epoch seconds: [startTime, endTime). */
export interface TimeRange {
  startTime: number;
  endTime: number;
}

/**
 * The window of datapoints to ask for: it ends at the newest period boundary that is at least
 * `lag` seconds in the past (CloudWatch still fills the most recent minutes), and spans `window`
 * seconds. Aligned ends also make every request within one period share a cache entry.
 */
export function timeRangeAt(
  nowMs: number,
  metric: Pick<CloudWatchMetricConfig, 'period' | 'lag' | 'window'>,
): TimeRange {
  const endTime = Math.floor((Math.floor(nowMs / 1000) - metric.lag) / metric.period) * metric.period;
  return { startTime: endTime - metric.window, endTime };
}

/**
 * The metric's queries in SDK form with `${selector.<label>}` filled from the request's
 * metric selector. A label the queries need but the selector does not pin is a 400.
 */
export function resolveQueries(
  metric: CloudWatchMetricConfig,
  labels: Readonly<Record<string, string>>,
): MetricDataQuery[] {
  const fill = (text: string): string =>
    text.replace(SELECTOR_PLACEHOLDER, (_placeholder, label: string) => {
      const value = Object.hasOwn(labels, label) ? labels[label] : undefined;
      if (value === undefined) {
        throw ApiError.badRequest(
          `external metric "${metric.name}" needs the label selector ${label}=<value> (its CloudWatch dimensions use \${selector.${label}})`,
        );
      }
      return value;
    });
  return metric.queries.map((q): MetricDataQuery => {
    const resolved: MetricDataQuery = { Id: q.id, ReturnData: q.returnData };
    if (q.label !== undefined) resolved.Label = q.label;
    if (q.expression !== undefined) resolved.Expression = q.expression;
    if (q.metricStat !== undefined) {
      const stat = q.metricStat;
      resolved.MetricStat = {
        Metric: {
          Namespace: stat.namespace,
          MetricName: stat.metricName,
          Dimensions: stat.dimensions.map((d) => ({ Name: d.name, Value: fill(d.value) })),
        },
        Period: stat.period ?? metric.period,
        Stat: stat.stat,
      };
      if (stat.unit !== undefined) resolved.MetricStat.Unit = stat.unit as StandardUnit;
    }
    return resolved;
  });
}

/** `AWS/SQS ApproximateNumberOfMessagesVisible{QueueName=jobs} Average`, for error messages. */
export function describeQueries(queries: readonly MetricDataQuery[]): string {
  return queries
    .map((q) => {
      if (q.Expression !== undefined) return `${q.Id} = ${q.Expression}`;
      const stat = q.MetricStat;
      const dimensions = (stat?.Metric?.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).join(',');
      return `${q.Id} = ${stat?.Metric?.Namespace} ${stat?.Metric?.MetricName}{${dimensions}} ${stat?.Stat}`;
    })
    .join('; ');
}

/**
 * `METRICS()` in an expression means every metric of the whole GetMetricData request, so a query
 * group using it cannot share a call with other requests' queries.
 */
export function needsOwnCall(queries: readonly MetricDataQuery[]): boolean {
  return queries.some((q) => q.Expression !== undefined && /\bMETRICS\s*\(/.test(q.Expression));
}

/**
 * The same queries with every Id, and every reference to one in an expression, prefixed, so
 * queries of different requests can share one GetMetricData call. String literals (SEARCH
 * terms, labels) are left alone.
 */
export function prefixQueryIds(queries: readonly MetricDataQuery[], prefix: string): MetricDataQuery[] {
  const ids = new Set(queries.map((q) => q.Id ?? ''));
  return queries.map((q) => {
    const prefixed: MetricDataQuery = { ...q, Id: `${prefix}${q.Id}` };
    if (q.Expression !== undefined) prefixed.Expression = prefixIdentifiers(q.Expression, ids, prefix);
    return prefixed;
  });
}

function prefixIdentifiers(expression: string, ids: ReadonlySet<string>, prefix: string): string {
  let out = '';
  let i = 0;
  while (i < expression.length) {
    const char = expression[i] ?? '';
    if (char === '"' || char === "'") {
      let end = i + 1;
      while (end < expression.length && expression[end] !== char) end += expression[end] === '\\' ? 2 : 1;
      out += expression.slice(i, end + 1);
      i = end + 1;
    } else if (/[A-Za-z_]/.test(char)) {
      let end = i + 1;
      while (end < expression.length && /[A-Za-z0-9_]/.test(expression[end] ?? '')) end++;
      const word = expression.slice(i, end);
      out += ids.has(word) ? `${prefix}${word}` : word;
      i = end;
    } else {
      out += char;
      i++;
    }
  }
  return out;
}
