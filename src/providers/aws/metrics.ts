import { Counter, Histogram } from 'prom-client';
import { perRegistry } from '../../lib/per-registry.js';
import { type AwsCall, type AwsOutcome, attemptsOf, classifyAwsError, toApiError } from './errors.js';

/**
 * The debug log line each metric's AWS request is logged with, `{ operation, metric, input }`
 * (input as the SDK command gets it, before batching): `explain` shows it.
 */
export const AWS_REQUEST_LOG = 'aws request';

export interface AwsMetrics {
  requests: Counter<'service' | 'operation' | 'outcome'>;
  /** Calls by the metric whose request made them; a batched GetMetricData counts once for each metric in it. */
  metricRequests: Counter<'service' | 'operation' | 'metric'>;
  /** What CloudWatch bills GetMetricData by: metrics requested (each MetricStat query of each call). */
  cloudWatchMetricsRequested: Counter<'metric'>;
  retries: Counter<'service' | 'operation'>;
  cloudWatchQueriesPerCall: Histogram;
}

/**
 * What the AWS backends cost: calls by outcome, retries, and queries per GetMetricData call
 * (CloudWatch bills per metric requested). Both backends share the series in one registry, and
 * backends rebuilt on a config reload reuse them.
 */
export const awsMetrics = perRegistry(
  (registry): AwsMetrics => ({
    requests: new Counter({
      name: 'hpa_metrics_adapter_aws_requests_total',
      help: 'AWS API calls made by the adapter (retries inside one call counted once), by service, operation and outcome.',
      labelNames: ['service', 'operation', 'outcome'],
      registers: [registry],
    }),
    metricRequests: new Counter({
      name: 'hpa_metrics_adapter_aws_metric_requests_total',
      help: 'AWS API calls by the external metric whose request made them; a GetMetricData call shared by several metrics counts once for each.',
      labelNames: ['service', 'operation', 'metric'],
      registers: [registry],
    }),
    cloudWatchMetricsRequested: new Counter({
      name: 'hpa_metrics_adapter_cloudwatch_metrics_requested_total',
      help: 'Metrics requested from CloudWatch GetMetricData (MetricStat queries of every call and page), the unit CloudWatch bills, by external metric.',
      labelNames: ['metric'],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'hpa_metrics_adapter_aws_retries_total',
      help: 'Extra attempts the AWS SDK made after a throttled, failed or timed-out attempt, by service and operation.',
      labelNames: ['service', 'operation'],
      registers: [registry],
    }),
    cloudWatchQueriesPerCall: new Histogram({
      name: 'hpa_metrics_adapter_cloudwatch_queries_per_call',
      help: 'MetricDataQueries sent in one GetMetricData request (each page counted); CloudWatch bills per query.',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
      registers: [registry],
    }),
  }),
);

/**
 * Runs one SDK call (its retries included), counts it, and turns a failure into an ApiError.
 * `send` gets no signal of its own: callers pass theirs to the SDK as `abortSignal`.
 */
export async function callAws<Output>(
  metrics: AwsMetrics,
  call: AwsCall,
  send: () => Promise<Output>,
): Promise<Output> {
  const labels = { service: call.service.toLowerCase(), operation: call.operation };
  const record = (outcome: AwsOutcome, resultOrError: unknown): void => {
    metrics.requests.inc({ ...labels, outcome });
    for (const metric of call.metrics ?? []) metrics.metricRequests.inc({ ...labels, metric });
    const attempts = attemptsOf(resultOrError);
    if (attempts !== undefined && attempts > 1) metrics.retries.inc(labels, attempts - 1);
  };
  let output: Output;
  try {
    output = await send();
  } catch (error) {
    const outcome = classifyAwsError(error);
    record(outcome, error);
    throw toApiError(error, call, outcome);
  }
  record('success', output);
  return output;
}
