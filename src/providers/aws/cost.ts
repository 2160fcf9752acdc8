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

/** What decides how often a cache reads a key: its TTL and the part of it refreshed ahead. */
export interface CacheCadence {
  ttlMs: number;
  /** Fraction of the TTL at its end in which a hit also reads the key again; 0 is off. */
  refreshAheadRatio: number;
  /**
   * HPA-aware refresh (`--hpa-refresh=all`, src/refresh): every replica reads the key this long
   * before it expires, whether or not polls reach it, and hits do not read it ahead.
   */
  hpaRefreshLeadMs?: number;
}

/**
 * How often one replica's cache reads a key. With HPA-aware refresh: once per TTL less the
 * refresher's lead (a TTL shorter than twice the lead, at half its length). Without it, for a key
 * the HPA asks for every `pollSeconds`: at the first
 * poll that finds the value past the refresh-ahead point (ttl × (1 − ratio); a hit there reads the
 * key again in the background), or past the TTL with refresh-ahead off. A load takes some time,
 * so a poll exactly one such span after the last read finds the value just short of it. At the
 * defaults (ttl 20 s, ratio 0.5, 15 s polls) that is every poll: one read per 15 s.
 */
export function secondsBetweenReads(cadence: CacheCadence, pollSeconds = HPA_SYNC_SECONDS): number {
  if (cadence.hpaRefreshLeadMs !== undefined) {
    return Math.max(cadence.ttlMs / 2, cadence.ttlMs - cadence.hpaRefreshLeadMs) / 1000;
  }
  const readAgainAfterMs =
    cadence.refreshAheadRatio > 0 ? cadence.ttlMs * (1 - cadence.refreshAheadRatio) : cadence.ttlMs;
  return (Math.floor(readAgainAfterMs / 1000 / pollSeconds) + 1) * pollSeconds;
}

export interface MonthlyEstimate {
  /** Seconds between two reads of one key by one replica (secondsBetweenReads). */
  secondsBetweenReads: number;
  /** Backend reads per month: every replica's cache reads each key once per `secondsBetweenReads`. */
  readsPerMonth: number;
  sqsRequests: number;
  cloudWatchMetrics: number;
  dollars: number;
}

/** What a metric read by `hpas` HPAs (each its own key, each polling every 15 s) costs a month at this cache cadence and replica count. */
export function monthlyEstimate(
  perRead: RequestCost,
  settings: CacheCadence & { replicas: number; hpas?: number },
  prices: AwsPrices = LIST_PRICES,
): MonthlyEstimate {
  const interval = secondsBetweenReads(settings);
  const readsPerMonth = (SECONDS_PER_MONTH / interval) * settings.replicas * (settings.hpas ?? 1);
  const sqsRequests = readsPerMonth * perRead.sqsRequests;
  const cloudWatchMetrics = readsPerMonth * perRead.cloudWatchMetrics;
  const dollars =
    (sqsRequests / 1e6) * prices.sqsPerMillionRequests +
    (cloudWatchMetrics / 1000) * prices.cloudWatchPerThousandMetrics;
  return { secondsBetweenReads: interval, readsPerMonth, sqsRequests, cloudWatchMetrics, dollars };
}
