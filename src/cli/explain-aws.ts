import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { ApiError } from '../api/errors.js';
import { parseSelector } from '../api/selector.js';
import { resolveCacheSettings } from '../cache/config.js';
import { MIN_REFRESH_LEAD_MS, type QueryCache } from '../cache/query-cache.js';
import type { AdapterConfig } from '../config/schema.js';
import { deadlineOf } from '../lib/deadline.js';
import { createLogger } from '../observability/logger.js';
import { type AwsPrices, type MonthlyEstimate, monthlyEstimate } from '../providers/aws/cost.js';
import { AWS_REQUEST_LOG } from '../providers/aws/metrics.js';
import { cloudWatchFailurePolicies } from '../providers/cloudwatch/module.js';
import type { MetricsBackend } from '../providers/provider.js';
import { sqsFailurePolicies } from '../providers/sqs/module.js';

export interface AwsQuestion {
  metric: string;
  namespace: string;
  metricSelector: string;
  replicas: number;
  prices: AwsPrices;
  /**
   * The adapter's --hpa-refresh: `all` (its default), every replica reads every key an HPA uses
   * once per TTL; `leader`, the Lease holder does, the others read as polls reach them; `off`, every
   * replica reads as polls reach it.
   */
  hpaRefresh: 'all' | 'leader' | 'off';
}

/** Every read goes to AWS: explain shows the request of this one read. */
const noCache: QueryCache = { fetch: (_key, load, caller) => load(caller.deadline.signal) };

/**
 * `explain` for an SQS or CloudWatch metric: the AWS request(s) one read makes, exactly as the
 * backend sends them (before batching), the value AWS answers, the metric's failure policy, and
 * what it costs a month at the configured TTL and the replica count. `section` is the backend the
 * router sends the metric to (explain-route.ts); false when no value came back.
 */
export async function explainAwsMetric(
  config: AdapterConfig,
  section: 'sqs' | 'cloudwatch',
  question: AwsQuestion,
  print: (line?: string) => void,
): Promise<boolean> {
  const requests: { operation: string; input: unknown }[] = [];
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        const record = JSON.parse(line) as { msg?: string; operation?: string; input?: unknown };
        if (record.msg === AWS_REQUEST_LOG) requests.push({ operation: record.operation ?? '', input: record.input });
      }
      done();
    },
  });
  const context = {
    logger: createLogger('debug', capture),
    registry: new Registry(),
    cache: noCache,
    now: () => new Date(),
  };
  let backend: MetricsBackend;
  if (section === 'sqs' && config.sqs) {
    const { createSqsBackend } = await import('../providers/sqs/sqs-backend.js');
    backend = createSqsBackend(config.sqs, context);
  } else if (config.cloudwatch) {
    const { createCloudWatchBackend } = await import('../providers/cloudwatch/cloudwatch-backend.js');
    backend = createCloudWatchBackend(config.cloudwatch, context);
  } else {
    return false;
  }
  const policy =
    section === 'sqs' && config.sqs
      ? sqsFailurePolicies(config.sqs)(question.metric)
      : config.cloudwatch
        ? cloudWatchFailurePolicies(config.cloudwatch)(question.metric)
        : undefined;
  print(`external metric "${question.metric}": ${section} backend`);
  let answered = false;
  try {
    await backend.start?.();
    const samples = await backend.external?.getExternalMetric({
      metric: question.metric,
      namespace: question.namespace,
      metricSelector: parseSelector(question.metricSelector),
      deadline: deadlineOf(AbortSignal.timeout(30_000)),
    });
    await new Promise((resolve) => setImmediate(resolve));
    printRequests(requests, print);
    for (const sample of samples ?? []) {
      print(`value: ${sample.value} at ${sample.timestamp.toISOString()} labels ${JSON.stringify(sample.labels)}`);
    }
    answered = (samples?.length ?? 0) > 0;
    if (!answered) print('value: none (no series matches the selector)');
  } catch (error) {
    printRequests(requests, print);
    print(
      `value: none: ${error instanceof ApiError ? `${error.code} ${error.reason}: ` : ''}${(error as Error).message}`,
    );
  } finally {
    await backend.close?.();
  }
  if (policy) print(`failure policy: ${JSON.stringify(policy)}`);
  printCost(config, section, question, requests, print);
  return answered;
}

function printRequests(requests: { operation: string; input: unknown }[], print: (line?: string) => void): void {
  for (const request of requests) print(`request: ${request.operation} ${JSON.stringify(request.input)}`);
}

/** Per read: one SQS request per GetQueueAttributes, one billed CloudWatch metric per MetricStat query. */
function printCost(
  config: AdapterConfig,
  section: 'sqs' | 'cloudwatch',
  question: AwsQuestion,
  requests: { operation: string; input: unknown }[],
  print: (line?: string) => void,
): void {
  const perRead = { sqsRequests: 0, cloudWatchMetrics: 0 };
  for (const request of requests) {
    if (request.operation === 'GetQueueAttributes') perRead.sqsRequests++;
    const queries = (request.input as { MetricDataQueries?: { MetricStat?: unknown }[] }).MetricDataQueries ?? [];
    perRead.cloudWatchMetrics += queries.filter((q) => q.MetricStat !== undefined).length;
  }
  const { ttlMs, refreshAheadRatio } = resolveCacheSettings(config.cache, section);
  const polled = { ttlMs, refreshAheadRatio };
  const refreshed = { ...polled, hpaRefreshLeadMs: MIN_REFRESH_LEAD_MS };
  const { replicas, prices } = question;
  // leader: the holder refreshes; each other replica reads at the poll cadence at most, when polls reach it.
  const estimate = (hpas: number) =>
    question.hpaRefresh === 'leader'
      ? sumOf(
          monthlyEstimate(perRead, { ...refreshed, replicas: 1, hpas }, prices),
          monthlyEstimate(perRead, { ...polled, replicas: replicas - 1, hpas }, prices),
        )
      : monthlyEstimate(perRead, { ...(question.hpaRefresh === 'all' ? refreshed : polled), replicas, hpas }, prices);
  const month = estimate(1);
  const thousand = estimate(1000);
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const dollars = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const s = (ms: number) => `${Math.round(ms) / 1000}s`;
  const onPolls =
    refreshAheadRatio > 0
      ? `refresh-ahead reads it again at the first poll past ${s(ttlMs * (1 - refreshAheadRatio))} of its ${s(ttlMs)} ttl`
      : `with refresh-ahead off it is read again at the first poll past its ${s(ttlMs)} ttl`;
  const refreshEvery = monthlyEstimate(perRead, { ...refreshed, replicas: 1 }).secondsBetweenReads;
  const pollEvery = monthlyEstimate(perRead, { ...polled, replicas: 1 }).secondsBetweenReads;
  const cadence = {
    all: `each replica reads a key every ${refreshEvery}s: HPA-aware refresh (--hpa-refresh=all, the default) reads it ${s(MIN_REFRESH_LEAD_MS)} before its ${s(ttlMs)} ttl ends, on every replica whether or not polls reach it (the price of a warm failover; --hpa-refresh=leader for the Lease holder alone, off for the cadence of polls alone)`,
    leader: `the Lease holder reads a key every ${refreshEvery}s: HPA-aware refresh (--hpa-refresh=leader) reads it ${s(MIN_REFRESH_LEAD_MS)} before its ${s(ttlMs)} ttl ends; each of the ${replicas - 1} other replica(s) at most every ${pollEvery}s, when polls reach it (${onPolls})`,
    off: `each replica reads a key every ${pollEvery}s: ${onPolls}`,
  }[question.hpaRefresh];
  const atMost = question.hpaRefresh === 'leader' && replicas > 1 ? 'at most ' : '';
  print(
    `cost estimate (a key the HPA polls every 15s; list prices $${question.prices.sqsPerMillionRequests}/million SQS requests, $${question.prices.cloudWatchPerThousandMetrics}/1,000 CloudWatch metrics requested; free tiers left out):`,
  );
  print(
    `  per read: ${perRead.sqsRequests} SQS request(s), ${perRead.cloudWatchMetrics} CloudWatch metric(s); ttl ${s(ttlMs)}, ${question.replicas} replica(s), HPA sync every 15s`,
  );
  print(`  ${cadence}`);
  print(
    `  per month: ${atMost}${n(month.readsPerMonth)} reads, ${n(month.sqsRequests)} SQS requests, ${n(month.cloudWatchMetrics)} CloudWatch metrics = $${dollars(month.dollars)}`,
  );
  print(`  1,000 HPAs each reading it for its own queue or dimensions: ${atMost}$${dollars(thousand.dollars)} a month`);
}

function sumOf(a: MonthlyEstimate, b: MonthlyEstimate): MonthlyEstimate {
  return {
    secondsBetweenReads: a.secondsBetweenReads,
    readsPerMonth: a.readsPerMonth + b.readsPerMonth,
    sqsRequests: a.sqsRequests + b.sqsRequests,
    cloudWatchMetrics: a.cloudWatchMetrics + b.cloudWatchMetrics,
    dollars: a.dollars + b.dollars,
  };
}
