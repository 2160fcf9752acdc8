import { AwsJsonError, AwsJsonServer, type Failure, type RecordedCall } from './aws-json-server.js';
import { evaluateExpression, type Series } from './aws-metric-math.js';

export interface MetricIdentity {
  namespace: string;
  metricName: string;
  dimensions?: Record<string, string>;
}

/** A raw datapoint as PutMetricData would store it; timestamp in epoch seconds. */
export interface Datapoint {
  timestamp: number;
  value: number;
}

export interface WireQuery {
  Id: string;
  Label?: string;
  Expression?: string;
  ReturnData?: boolean;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: string }[] };
    Period: number;
    Stat: string;
    Unit?: string;
  };
}

interface QueryFailure {
  matches: (query: WireQuery) => boolean;
  statusCode: 'InternalError' | 'Forbidden';
  message: string;
}

const ID_PATTERN = /^[a-z][a-zA-Z0-9_]*$/;
const STATS: Record<string, (values: number[]) => number> = {
  Average: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  Sum: (v) => v.reduce((a, b) => a + b, 0),
  Minimum: (v) => Math.min(...v),
  Maximum: (v) => Math.max(...v),
  SampleCount: (v) => v.length,
};

function validation(message: string): AwsJsonError {
  return new AwsJsonError(400, 'ValidationError', message, 'ValidationError;Sender');
}

/**
 * CloudWatch GetMetricData over AWS JSON 1.0: MetricStat aggregation per period (Average, Sum,
 * Minimum, Maximum, SampleCount), metric math (+ - * /, SUM(METRICS())), ScanBy, pagination by
 * NextToken (`pageSize` datapoints per page), PartialData, per-query failures, and CloudWatch's
 * request validation (at most 500 queries, Id syntax, unique Ids, epoch-second times).
 */
export class CloudWatchDouble {
  /** Datapoints per page; undefined sends everything in one page. */
  pageSize: number | undefined;
  /** Marks every result of the last page PartialData, as CloudWatch does when it hits a limit. */
  partialData = false;
  private readonly server: AwsJsonServer;
  private readonly data = new Map<string, Datapoint[]>();
  private readonly queryFailures: QueryFailure[] = [];

  constructor() {
    this.server = new AwsJsonServer('GraniteServiceVersion20100801', {
      GetMetricData: (body) => this.getMetricData(body),
    });
  }

  static async start(): Promise<CloudWatchDouble> {
    const double = new CloudWatchDouble();
    await double.server.start();
    return double;
  }

  get url(): string {
    return this.server.url;
  }

  get calls(): RecordedCall[] {
    return this.server.callsOf('GetMetricData');
  }

  /** The queries of every GetMetricData call, in order. */
  get queriesPerCall(): number[] {
    return this.calls.map((call) => (call.body.MetricDataQueries as unknown[]).length);
  }

  /** The MetricDataQueries of the `index`th GetMetricData call. */
  queriesOf(index: number): WireQuery[] {
    return (this.calls[index]?.body.MetricDataQueries as WireQuery[] | undefined) ?? [];
  }

  failNext(failure: Failure, times = 1): void {
    this.server.failNext('GetMetricData', failure, times);
  }

  /** Queries matching `matches` come back with this StatusCode and message instead of values. */
  failQuery(matches: (query: WireQuery) => boolean, statusCode: QueryFailure['statusCode'], message: string): void {
    this.queryFailures.push({ matches, statusCode, message });
  }

  put(metric: MetricIdentity, points: Datapoint[]): void {
    const key = metricKey(metric.namespace, metric.metricName, metric.dimensions ?? {});
    this.data.set(key, [...(this.data.get(key) ?? []), ...points]);
  }

  clearCalls(): void {
    this.server.calls.length = 0;
  }

  reset(): void {
    this.server.calls.length = 0;
    this.server.clearFailures();
    this.queryFailures.length = 0;
    this.data.clear();
    this.pageSize = undefined;
    this.partialData = false;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private getMetricData(body: Record<string, unknown>): unknown {
    const queries = body.MetricDataQueries as WireQuery[] | undefined;
    const { StartTime: start, EndTime: end } = body;
    if (!Array.isArray(queries) || queries.length === 0) throw validation('MetricDataQueries is required');
    if (queries.length > 500) {
      throw validation('The collection MetricDataQueries must not have a size greater than 500.');
    }
    if (typeof start !== 'number' || typeof end !== 'number') {
      throw validation('StartTime and EndTime must be epoch seconds');
    }
    if (start >= end) throw validation('The parameter StartTime must be less than the parameter EndTime.');
    const ids = new Set<string>();
    for (const q of queries) {
      if (!ID_PATTERN.test(q.Id)) throw validation(`Invalid metric data query id: ${q.Id}`);
      if (ids.has(q.Id)) throw validation(`The value ${q.Id} for field Id must be unique.`);
      ids.add(q.Id);
    }

    const series = new Map<string, Series>();
    const statSeries: Series[] = [];
    for (const q of queries.filter((q) => q.MetricStat)) {
      const computed = this.aggregate(q, start, end);
      series.set(q.Id, computed);
      statSeries.push(computed);
    }
    for (const q of queries.filter((q) => q.Expression !== undefined)) {
      try {
        series.set(q.Id, evaluateExpression(q.Expression ?? '', series, statSeries));
      } catch (error) {
        throw validation(`Error in expression '${q.Id}': ${(error as Error).message}`);
      }
    }

    const results = queries
      .filter((q) => q.ReturnData !== false)
      .map((q) => {
        const failure = this.queryFailures.find((f) => f.matches(q));
        const points = [...(series.get(q.Id) ?? new Map()).entries()].sort((a, b) =>
          body.ScanBy === 'TimestampAscending' ? a[0] - b[0] : b[0] - a[0],
        );
        return { query: q, failure, points: failure ? [] : points };
      });
    return this.page(results, typeof body.NextToken === 'string' ? Number(body.NextToken) : 0);
  }

  private aggregate(q: WireQuery, start: number, end: number): Series {
    const stat = q.MetricStat;
    if (!stat) return new Map();
    const reduce = STATS[stat.Stat];
    if (!reduce) {
      throw new AwsJsonError(
        400,
        'com.amazonaws.cloudwatch#InvalidParameterValueException',
        `The value ${stat.Stat} for parameter MetricDataQueries.member.1.MetricStat.Stat is not valid.`,
        'InvalidParameterValue;Sender',
      );
    }
    const dimensions = Object.fromEntries((stat.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));
    const points = this.data.get(metricKey(stat.Metric.Namespace, stat.Metric.MetricName, dimensions)) ?? [];
    const buckets = new Map<number, number[]>();
    for (const p of points) {
      if (p.timestamp < start || p.timestamp >= end) continue;
      const bucket = start + Math.floor((p.timestamp - start) / stat.Period) * stat.Period;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), p.value]);
    }
    return new Map([...buckets].map(([t, values]) => [t, reduce(values)]));
  }

  private page(results: { query: WireQuery; failure?: QueryFailure; points: [number, number][] }[], offset: number) {
    const total = results.reduce((n, r) => n + r.points.length, 0);
    const size = this.pageSize ?? Math.max(total, 1);
    const pageEnd = offset + size;
    const last = pageEnd >= total;
    let seen = 0;
    const MetricDataResults = [];
    for (const r of results) {
      const from = Math.max(0, offset - seen);
      const to = Math.max(0, Math.min(r.points.length, pageEnd - seen));
      const slice = r.points.slice(from, to);
      const more = seen + r.points.length > pageEnd;
      seen += r.points.length;
      if (slice.length === 0 && !(last && r.points.length === 0)) continue;
      const statusCode = r.failure?.statusCode ?? (more || (last && this.partialData) ? 'PartialData' : 'Complete');
      MetricDataResults.push({
        Id: r.query.Id,
        Label: r.query.Label ?? r.query.MetricStat?.Metric.MetricName ?? r.query.Id,
        Timestamps: slice.map(([t]) => t),
        Values: slice.map(([, v]) => v),
        StatusCode: statusCode,
        ...(r.failure ? { Messages: [{ Code: r.failure.statusCode, Value: r.failure.message }] } : {}),
      });
    }
    return { MetricDataResults, Messages: [], ...(last ? {} : { NextToken: String(pageEnd) }) };
  }
}

function metricKey(namespace: string, name: string, dimensions: Record<string, string>): string {
  const sorted = Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([namespace, name, sorted]);
}
