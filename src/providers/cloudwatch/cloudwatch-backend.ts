import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { ApiError } from '../../api/errors.js';
import { type AwsBackendOptions, awsBackendBase } from '../aws/backend-base.js';
import { AWS_REQUEST_LOG, callAws } from '../aws/metrics.js';
import { pinnedLabels } from '../aws/selector-labels.js';
import type { BackendContext } from '../context.js';
import { checkNamespace } from '../namespace-access.js';
import type { ExternalMetricsProvider, MetricsBackend } from '../provider.js';
import { GetMetricDataBatcher, type QueryResults } from './batcher.js';
import type { CloudWatchBackendConfig, CloudWatchMetricConfig } from './config.js';
import { describeQueries, needsOwnCall, resolveQueries, type TimeRange, timeRangeAt } from './queries.js';

/** What is cached per resolved query set and time range: the newest datapoint, if any. */
interface NewestDatapoint {
  datapoint?: { value: number; timestampMs: number };
}

/**
 * Named external metrics answered by CloudWatch GetMetricData. Each request resolves its
 * metric's queries (selector labels filled in), goes through the cache, and on a miss joins the
 * batcher, which packs concurrent requests into as few GetMetricData calls as possible.
 */
export function createCloudWatchBackend(
  config: CloudWatchBackendConfig,
  context: BackendContext,
  options: AwsBackendOptions = {},
): MetricsBackend {
  const aws = awsBackendBase(
    'cloudwatch',
    config,
    context,
    options,
    (clientConfig) => new CloudWatchClient(clientConfig),
  );
  const { metrics } = aws;
  const batcher = new GetMetricDataBatcher({
    windowMs: config.batchWindowMs,
    maxQueriesPerCall: config.maxQueriesPerCall,
    logger: context.logger,
    send: (input, signal, groups) => {
      const count = input.MetricDataQueries?.length ?? 0;
      metrics.cloudWatchQueriesPerCall.observe(count);
      for (const group of groups) {
        const billed = group.queries.filter((q) => q.MetricStat !== undefined).length;
        if (billed > 0) metrics.cloudWatchMetricsRequested.inc({ metric: group.metric }, billed);
      }
      return aws.renewingExpired(groups[0]?.accountId, () =>
        callAws(
          metrics,
          {
            service: 'CloudWatch',
            operation: 'GetMetricData',
            target: `a batch of ${count} ${count === 1 ? 'query' : 'queries'}`,
            metrics: [...new Set(groups.map((g) => g.metric))],
          },
          () =>
            aws
              .clientFor(undefined, groups[0]?.accountId)
              .send(new GetMetricDataCommand(input), { abortSignal: signal }),
        ),
      );
    },
  });
  const byName = new Map(config.metrics.map((m, index) => [m.name, { metric: m, index }]));
  const infos = config.metrics.map((m) => ({ metric: m.name }));

  const loadNewest = async (
    metric: CloudWatchMetricConfig,
    queries: MetricDataQuery[],
    range: TimeRange,
    signal: AbortSignal,
  ): Promise<NewestDatapoint> => {
    context.logger.debug(
      { operation: 'GetMetricData', metric: metric.name, input: { MetricDataQueries: queries, ...range } },
      AWS_REQUEST_LOG,
    );
    const results = await batcher.submit(
      { queries, metric: metric.name, ...range, ownCall: needsOwnCall(queries), ...accountOf(metric) },
      signal,
    );
    for (const [id, result] of results) {
      if (result.statusCode === 'PartialData') {
        // CloudWatch stopped early (datapoint limit or its own timeout); the newest points came first.
        context.logger.debug({ metric: metric.name, id, messages: result.messages }, 'cloudwatch: PartialData');
      }
    }
    return newestOf(queries, results);
  };

  const external: ExternalMetricsProvider = {
    async getExternalMetric(request) {
      const found = byName.get(request.metric);
      if (!found) throw ApiError.notFound(`the cloudwatch backend has no external metric "${request.metric}"`);
      const { metric, index } = found;
      checkNamespace(metric.name, request.namespace, metric.namespaces, `cloudwatch.metrics[${index}].namespaces`);
      // An account without a role is refused before anything is sent.
      aws.clientFor(undefined, metric.accountId);
      const labels = pinnedLabels(request.metricSelector);
      const queries = resolveQueries(metric, labels);
      const range = timeRangeAt(context.now().getTime(), metric);
      const key = JSON.stringify({ queries, ...range });
      let newest: NewestDatapoint;
      try {
        newest = await context.cache.fetch(key, (signal) => loadNewest(metric, queries, range, signal), request);
      } catch (error) {
        // A batched call's error is shared by every request in it; name this request's metric.
        if (error instanceof ApiError) {
          throw new ApiError(error.reason, `external metric "${metric.name}": ${error.message}`, { cause: error });
        }
        throw error;
      }
      const sample = newest.datapoint ?? noData(metric, queries, range);
      return [{ labels, value: sample.value, timestamp: new Date(sample.timestampMs), windowSeconds: metric.period }];
    },
    listExternalMetrics: () => infos,
    servesExternal: (metric) => byName.has(metric),
  };

  return aws.backend(external, { close: () => batcher.close() });
}

function accountOf(metric: CloudWatchMetricConfig): { accountId?: string } {
  return metric.accountId === undefined ? {} : { accountId: metric.accountId };
}

/** The newest datapoint of the returnData series; a failed query fails only this metric. */
function newestOf(queries: MetricDataQuery[], results: QueryResults): NewestDatapoint {
  for (const query of queries) {
    const result = results.get(query.Id ?? '');
    if (result && (result.statusCode === 'InternalError' || result.statusCode === 'Forbidden')) {
      const why = result.messages.length > 0 ? result.messages.join('; ') : 'no message';
      throw ApiError.unavailable(
        `CloudWatch GetMetricData answered ${result.statusCode} for query ${query.Id} (${describeQueries([query])}): ${why}`,
      );
    }
  }
  const returned = queries.find((q) => q.ReturnData);
  const series = results.get(returned?.Id ?? '');
  if (!series) return {};
  let newest: NewestDatapoint['datapoint'];
  series.timestamps.forEach((timestampMs, i) => {
    const value = series.values[i];
    if (value === undefined || !Number.isFinite(value)) return;
    if (!newest || timestampMs > newest.timestampMs) newest = { value, timestampMs };
  });
  return newest ? { datapoint: newest } : {};
}

/** No datapoint in the window: a NotFound, which the metric's failure policy (noData) may answer for. */
function noData(metric: CloudWatchMetricConfig, queries: MetricDataQuery[], range: TimeRange): never {
  throw ApiError.notFound(
    `CloudWatch has no datapoint for external metric "${metric.name}" between ${iso(range.startTime)} and ${iso(range.endTime)} ` +
      `(window ${metric.window}s, period ${metric.period}s, lag ${metric.lag}s; ${describeQueries(queries)})`,
  );
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}
