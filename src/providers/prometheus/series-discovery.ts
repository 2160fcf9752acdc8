import type { Logger } from '../../observability/logger.js';
import { buildDiscovery, type Discovery, EMPTY_DISCOVERY, listSeries, type Series } from './discovery.js';
import type { PrometheusBackendMetrics } from './metrics.js';
import type { CompiledRule } from './rules.js';

/**
 * Series discovery, kept apart from answering queries as prometheus-adapter keeps its lister and
 * registry: every relist interval each distinct `seriesQuery` is run against /api/v1/series and the
 * rules turn what it found into the metrics the API announces. A query that fails keeps serving
 * its last good series, so one bad relist does not take metrics out of discovery; after a failed
 * relist the next one comes sooner.
 */
export interface SeriesDiscovery {
  /** What the last relist found, per rule. */
  current(): Discovery;
  /** Runs series discovery now; true when every seriesQuery answered. */
  relist(): Promise<boolean>;
  /** The first relist, then one every interval (sooner after a failure) until close(). */
  start(): Promise<boolean>;
  close(): void;
}

export interface SeriesDiscoveryOptions {
  rules: readonly CompiledRule[];
  client: { series(match: string, start: Date, end: Date, signal?: AbortSignal): Promise<Series[]> };
  now: () => Date;
  /** How far back a relist looks for series. */
  maxAgeMs: number;
  relistIntervalMs: number;
  metrics: PrometheusBackendMetrics;
  logger: Logger;
  /** Called after every relist with what it found, before current() returns it. */
  onRelist?: (discovery: Discovery) => void;
}

/** After a failed relist, try again this soon (or at the interval, if shorter). */
const RETRY_AFTER_FAILURE_MS = 5_000;

export function createSeriesDiscovery(options: SeriesDiscoveryOptions): SeriesDiscovery {
  const { rules, client, metrics, logger } = options;
  let current: Discovery = EMPTY_DISCOVERY;
  const lastGood = new Map<string, Series[]>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const stopping = new AbortController();

  async function relist(): Promise<boolean> {
    const end = options.now();
    const start = new Date(end.getTime() - options.maxAgeMs);
    const found = await listSeries(client, rules, { start, end }, stopping.signal);
    if (stopping.signal.aborted) return false;
    let failures = 0;
    for (const [query, result] of found) {
      if (!(result instanceof Error)) {
        lastGood.set(query, result);
        continue;
      }
      failures++;
      const kept = lastGood.get(query);
      logger.warn(
        { seriesQuery: query, err: result.message, keptSeries: kept?.length ?? 0 },
        kept ? 'series discovery failed: keeping the last good series of this query' : 'series discovery failed',
      );
      if (kept) found.set(query, kept);
    }
    current = buildDiscovery(rules, found);
    options.onRelist?.(current);
    metrics.relists.inc({ outcome: failures === 0 ? 'success' : 'failure' });
    if (failures === 0) metrics.lastRelistSuccess.set(end.getTime() / 1000);
    metrics.announced.set({ api: 'custom' }, current.customList.length);
    metrics.announced.set({ api: 'external' }, current.externalList.length);
    logger.debug(
      { custom: current.customList.length, external: current.externalList.length, failedQueries: failures },
      'prometheus series discovery done',
    );
    return failures === 0;
  }

  function nextDelay(ok: boolean): number {
    return ok ? options.relistIntervalMs : Math.min(options.relistIntervalMs, RETRY_AFTER_FAILURE_MS);
  }

  function schedule(delayMs: number): void {
    if (closed) return;
    timer = setTimeout(() => {
      void relist().then(
        (ok) => schedule(nextDelay(ok)),
        () => schedule(options.relistIntervalMs),
      );
    }, delayMs);
    timer.unref();
  }

  return {
    current: () => current,
    relist,
    async start() {
      const ok = await relist().catch((error: unknown) => {
        logger.warn({ err: (error as Error).message }, 'first prometheus series discovery failed');
        return false;
      });
      schedule(nextDelay(ok));
      return ok;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      stopping.abort(new Error('prometheus backend closed'));
    },
  };
}
