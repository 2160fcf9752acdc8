/**
 * What AWS metrics cost, estimated: list prices as defaults (us-east-1, November 2026), to be
 * replaced with your own (`explain --sqs-price`, `--cloudwatch-price`). Free tiers are left out.
 */
export interface AwsPrices {
  /** Dollars per million SQS requests (GetQueueAttributes is a standard request). */
  sqsPerMillionRequests: number;
  /** Dollars per 1,000 metrics requested with GetMetricData. */
  cloudWatchPerThousandMetrics: number;
}

export const LIST_PRICES: Readonly<AwsPrices> = Object.freeze({
  sqsPerMillionRequests: 0.4,
  cloudWatchPerThousandMetrics: 0.01,
});

/** A 30-day month. */
export const SECONDS_PER_MONTH = 30 * 24 * 3600;
/** The HPA controller asks for every metric this often (--horizontal-pod-autoscaler-sync-period). */
export const HPA_SYNC_SECONDS = 15;

/** What one HPA's request of a metric costs on a cache miss. */
export interface RequestCost {
  sqsRequests: number;
  cloudWatchMetrics: number;
}

export interface MonthlyEstimate {
  /** Backend reads per month: every replica's cache reads each key at most once per TTL, and no more often than the HPA asks. */
  readsPerMonth: number;
  sqsRequests: number;
  cloudWatchMetrics: number;
  dollars: number;
}

/** The most a metric read by `hpas` HPAs (each its own key) costs a month at this TTL and replica count. */
export function monthlyEstimate(
  perRead: RequestCost,
  settings: { ttlMs: number; replicas: number; hpas?: number },
  prices: AwsPrices = LIST_PRICES,
): MonthlyEstimate {
  const interval = Math.max(settings.ttlMs / 1000, HPA_SYNC_SECONDS);
  const readsPerMonth = (SECONDS_PER_MONTH / interval) * settings.replicas * (settings.hpas ?? 1);
  const sqsRequests = readsPerMonth * perRead.sqsRequests;
  const cloudWatchMetrics = readsPerMonth * perRead.cloudWatchMetrics;
  const dollars =
    (sqsRequests / 1e6) * prices.sqsPerMillionRequests +
    (cloudWatchMetrics / 1000) * prices.cloudWatchPerThousandMetrics;
  return { readsPerMonth, sqsRequests, cloudWatchMetrics, dollars };
}
