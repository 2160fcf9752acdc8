import type * as CloudWatchSdk from '@aws-sdk/client-cloudwatch';
import { ApiError } from '../../api/errors.js';
import type { CacheCaller } from '../../cache/query-cache.js';
import { type AwsBackendOptions, awsBackendBase } from '../aws/backend-base.js';
import type { AwsConnectionSettings } from '../aws/config.js';
import { AWS_REQUEST_LOG, type AwsMetrics, callAws } from '../aws/metrics.js';
import { GetMetricDataBatcher } from '../cloudwatch/batcher.js';
import { timeRangeAt } from '../cloudwatch/queries.js';
import type { BackendContext } from '../context.js';
import { describeQueue, type QueueRef } from './queue-urls.js';

/** ApproximateAgeOfOldestMessage is published once a minute; the newest of the last five answers. */
const AGE_WINDOW = { period: 60, lag: 60, window: 300 };

export interface QueueAge {
  value: number;
  observedAtMs: number;
}

/**
 * The age of a queue's oldest message, from CloudWatch (AWS/SQS ApproximateAgeOfOldestMessage,
 * Maximum): SQS itself does not report it. Reads of many queues share GetMetricData calls
 * through the CloudWatch backend's batcher; the CloudWatch SDK is loaded on the first read.
 */
export class QueueAgeReader {
  private sdk: typeof CloudWatchSdk | undefined;
  private readonly aws;
  private readonly batcher: GetMetricDataBatcher;

  constructor(
    settings: AwsConnectionSettings,
    private readonly context: BackendContext,
    options: AwsBackendOptions,
    metrics: AwsMetrics,
  ) {
    this.aws = awsBackendBase(
      'cloudwatch',
      settings,
      context,
      options,
      (config) => {
        if (!this.sdk) throw ApiError.internal('the CloudWatch SDK is not loaded yet');
        return new this.sdk.CloudWatchClient(config);
      },
      'sqs',
    );
    this.batcher = new GetMetricDataBatcher({
      windowMs: 5,
      maxQueriesPerCall: 500,
      logger: context.logger,
      send: async (input, signal, groups) => {
        const sdk = await this.loadSdk();
        const count = input.MetricDataQueries?.length ?? 0;
        metrics.cloudWatchQueriesPerCall.observe(count);
        for (const group of groups)
          metrics.cloudWatchMetricsRequested.inc({ metric: group.metric }, group.queries.length);
        const first = groups[0];
        return this.aws.renewingExpired(first?.accountId, () =>
          callAws(
            metrics,
            {
              service: 'CloudWatch',
              operation: 'GetMetricData',
              target: `the oldest-message age of ${count} ${count === 1 ? 'queue' : 'queues'}`,
              metrics: [...new Set(groups.map((g) => g.metric))],
            },
            () =>
              this.aws
                .clientFor(first?.region, first?.accountId)
                .send(new sdk.GetMetricDataCommand(input), { abortSignal: signal }),
          ),
        );
      },
    });
  }

  /** The GetMetricData query for the queue, as it is sent (explain shows it). */
  static query(queue: QueueRef): CloudWatchSdk.MetricDataQuery {
    return {
      Id: 'age',
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateAgeOfOldestMessage',
          Dimensions: [{ Name: 'QueueName', Value: queue.name }],
        },
        Period: AGE_WINDOW.period,
        Stat: 'Maximum',
      },
    };
  }

  async read(queue: QueueRef, caller: CacheCaller, metric: string): Promise<QueueAge> {
    if (!this.sdk) await this.loadSdk();
    // Refused (403) before anything is sent when the queue's account has no role.
    this.aws.clientFor(queue.region, queue.accountId);
    const range = timeRangeAt(this.context.now().getTime(), AGE_WINDOW);
    const key = `age ${queue.region ?? ''}|${queue.accountId ?? ''}|${queue.name} ${range.startTime}-${range.endTime}`;
    return this.context.cache.fetch(
      key,
      async (signal) => {
        const group = { queries: [QueueAgeReader.query(queue)], metric, ...range, ...where(queue) };
        this.context.logger.debug(
          { operation: 'GetMetricData', metric, input: { MetricDataQueries: group.queries, ...range } },
          AWS_REQUEST_LOG,
        );
        const results = await this.batcher.submit(group, signal);
        const series = results.get('age');
        let newest: QueueAge | undefined;
        series?.timestamps.forEach((timestampMs, i) => {
          const value = series.values[i];
          if (value === undefined || !Number.isFinite(value)) return;
          if (!newest || timestampMs > newest.observedAtMs) newest = { value, observedAtMs: timestampMs };
        });
        if (!newest) {
          throw ApiError.notFound(
            `CloudWatch has no AWS/SQS ApproximateAgeOfOldestMessage datapoint for ${describeQueue(queue)} in the ${AGE_WINDOW.window / 60} minutes before ${new Date(range.endTime * 1000).toISOString()} (SQS stops publishing metrics for queues idle for hours)`,
          );
        }
        return newest;
      },
      caller,
    );
  }

  close(): void {
    this.batcher.close();
    this.aws.destroy();
  }

  private async loadSdk(): Promise<typeof CloudWatchSdk> {
    this.sdk ??= await import('@aws-sdk/client-cloudwatch');
    return this.sdk;
  }
}

function where(queue: QueueRef): { region?: string; accountId?: string } {
  const out: { region?: string; accountId?: string } = {};
  if (queue.region !== undefined) out.region = queue.region;
  if (queue.accountId !== undefined) out.accountId = queue.accountId;
  return out;
}
