import type {
  GetMetricDataCommandInput,
  GetMetricDataCommandOutput,
  MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { ApiError } from '../../api/errors.js';
import type { Logger } from '../../observability/logger.js';
import { abandonOnAbort } from '../aws/abort.js';
import { prefixQueryIds, type TimeRange } from './queries.js';

/** One series as GetMetricData returned it, all pages merged. Timestamps in epoch milliseconds. */
export interface SeriesResult {
  timestamps: number[];
  values: number[];
  /** Complete, PartialData, InternalError or Forbidden, as CloudWatch reports it for this query. */
  statusCode: string;
  messages: string[];
}

/** The results of one request's queries, keyed by the query Ids the request used. */
export type QueryResults = Map<string, SeriesResult>;

/** One request's queries: they reference each other, so they always travel in the same call. */
export interface QueryGroup extends TimeRange {
  queries: MetricDataQuery[];
  /** The external metric the queries answer, for the cost counters. */
  metric: string;
  /** The account whose role signs the call (another account's metrics) and the region it goes to; only groups of one account and region share a call. */
  accountId?: string;
  region?: string;
  /** Set for groups whose expressions read the whole request (METRICS()): they get a call of their own. */
  ownCall?: boolean;
}

export interface BatcherOptions {
  windowMs: number;
  maxQueriesPerCall: number;
  /** Sends one GetMetricData request (one page) for `groups`; failures arrive as ApiError. */
  send: (
    input: GetMetricDataCommandInput,
    signal: AbortSignal,
    groups: readonly QueryGroup[],
  ) => Promise<GetMetricDataCommandOutput>;
  logger: Logger;
}

interface Waiter {
  group: QueryGroup;
  resolve: (results: QueryResults) => void;
  reject: (error: unknown) => void;
}

interface PendingBatch {
  range: TimeRange;
  waiters: Waiter[];
  queryCount: number;
  timer?: NodeJS.Timeout;
}

/** A guard against a server that keeps sending NextToken; 100,800 datapoints per page makes it generous. */
const MAX_PAGES = 100;

/**
 * Collects the query groups of concurrent requests that ask for the same time range within
 * `windowMs` and sends them as few GetMetricData calls as `maxQueriesPerCall` allows. Query Ids
 * get a per-call prefix (`q<n>_`) so groups cannot collide, and results travel back by it. A
 * failed call fails only the groups in it, a failed query only the group it belongs to, and a
 * call CloudWatch refuses as invalid is split until the refusal reaches only the bad group.
 */
export class GetMetricDataBatcher {
  private readonly pending = new Map<string, PendingBatch>();
  private readonly closing = new AbortController();

  constructor(private readonly options: BatcherOptions) {}

  submit(group: QueryGroup, signal: AbortSignal): Promise<QueryResults> {
    if (this.closing.signal.aborted) return Promise.reject(ApiError.unavailable('the CloudWatch backend is shut down'));
    const work = new Promise<QueryResults>((resolve, reject) => {
      const waiter: Waiter = { group, resolve, reject };
      if (group.ownCall) {
        void this.dispatch([waiter], group);
        return;
      }
      const key = `${group.region ?? ''}|${group.accountId ?? ''}|${group.startTime}-${group.endTime}`;
      let batch = this.pending.get(key);
      if (batch && batch.queryCount + group.queries.length > this.options.maxQueriesPerCall) {
        this.flush(key);
        batch = undefined;
      }
      if (!batch) {
        batch = { range: { startTime: group.startTime, endTime: group.endTime }, waiters: [], queryCount: 0 };
        this.pending.set(key, batch);
        batch.timer = setTimeout(() => this.flush(key), this.options.windowMs);
      }
      batch.waiters.push(waiter);
      batch.queryCount += group.queries.length;
      if (batch.queryCount === this.options.maxQueriesPerCall) this.flush(key);
    });
    // A caller that leaves early stops waiting; its queries still go out with the others.
    work.catch(() => undefined);
    return abandonOnAbort(work, signal, 'CloudWatch GetMetricData');
  }

  /** Fails what has not been sent and aborts calls in flight. */
  close(): void {
    this.closing.abort();
    for (const [key, batch] of this.pending) {
      clearTimeout(batch.timer);
      this.pending.delete(key);
      for (const waiter of batch.waiters) waiter.reject(ApiError.unavailable('the CloudWatch backend is shut down'));
    }
  }

  private flush(key: string): void {
    const batch = this.pending.get(key);
    if (!batch) return;
    this.pending.delete(key);
    clearTimeout(batch.timer);
    void this.dispatch(batch.waiters, batch.range);
  }

  private async dispatch(waiters: Waiter[], range: TimeRange): Promise<void> {
    const prefixes = waiters.map((_, index) => `q${index}_`);
    const queries = waiters.flatMap((waiter, index) => prefixQueryIds(waiter.group.queries, prefixes[index] ?? ''));
    let merged: Map<string, SeriesResult>;
    try {
      merged = await this.fetchAllPages(
        queries,
        range,
        waiters.map((w) => w.group),
      );
    } catch (error) {
      if (waiters.length > 1 && error instanceof ApiError && error.reason === 'BadRequest') {
        // CloudWatch refuses the whole call for one bad query: halve the batch until the
        // refusal reaches only the request it belongs to (a few extra calls, not one per request).
        const middle = Math.ceil(waiters.length / 2);
        await Promise.all([
          this.dispatch(waiters.slice(0, middle), range),
          this.dispatch(waiters.slice(middle), range),
        ]);
        return;
      }
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    waiters.forEach((waiter, index) => {
      const prefix = prefixes[index] ?? '';
      const results: QueryResults = new Map();
      for (const query of waiter.group.queries) {
        const result = merged.get(`${prefix}${query.Id}`);
        if (result) results.set(query.Id ?? '', result);
      }
      waiter.resolve(results);
    });
  }

  private async fetchAllPages(
    queries: MetricDataQuery[],
    range: TimeRange,
    groups: readonly QueryGroup[],
  ): Promise<Map<string, SeriesResult>> {
    const merged = new Map<string, SeriesResult>();
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const input: GetMetricDataCommandInput = {
        MetricDataQueries: queries,
        StartTime: new Date(range.startTime * 1000),
        EndTime: new Date(range.endTime * 1000),
        ScanBy: 'TimestampDescending',
      };
      if (nextToken !== undefined) input.NextToken = nextToken;
      const output = await this.options.send(input, this.closing.signal, groups);
      for (const message of output.Messages ?? []) {
        this.options.logger.debug({ code: message.Code, message: message.Value }, 'cloudwatch: GetMetricData message');
      }
      for (const result of output.MetricDataResults ?? []) mergePage(merged, result);
      nextToken = output.NextToken;
      if (!nextToken) return merged;
    }
    throw ApiError.unavailable(`CloudWatch GetMetricData still sent a NextToken after ${MAX_PAGES} pages`);
  }
}

function mergePage(
  merged: Map<string, SeriesResult>,
  result: NonNullable<GetMetricDataCommandOutput['MetricDataResults']>[number],
): void {
  const id = result.Id ?? '';
  const series = merged.get(id) ?? { timestamps: [], values: [], statusCode: 'Complete', messages: [] };
  const timestamps = result.Timestamps ?? [];
  const values = result.Values ?? [];
  for (let i = 0; i < Math.min(timestamps.length, values.length); i++) {
    series.timestamps.push(timestamps[i]?.getTime() ?? 0);
    series.values.push(values[i] ?? Number.NaN);
  }
  // Each page reports the status so far; the last page's word is final.
  series.statusCode = result.StatusCode ?? series.statusCode;
  for (const message of result.Messages ?? []) series.messages.push(`${message.Code}: ${message.Value}`);
  merged.set(id, series);
}
