import type { Logger } from '../observability/logger.js';
import { collectionPath } from './client.js';
import { ObjectCapError } from './object-caps.js';
import type { KubeTransport } from './transport.js';
import { kubeStatusOf, type ResourceRef } from './types.js';
import { type ObjectDecoder, type WatchChange, watchObjects } from './watch-stream.js';

export interface InformerTimings {
  /** The watch's server-side timeout is drawn from [min, 2·min), as client-go's reflector does. Default 300 s. */
  minWatchTimeoutSeconds: number;
  /** First retry delay after an error; doubles per failure up to backoffMaxMs, ±50 % jitter. Default 800 ms. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Retry delay after a 403 on the LIST or WATCH of all namespaces (RBAC may be granted later). Default 5 min. */
  forbiddenRetryMs: number;
  /** Retry delay after the resource outgrew a cap (ObjectCaps): the cluster may shrink. Default 5 min. */
  overCapRetryMs: number;
  /**
   * How long a failing watch may be trusted before selector requests fall back to LIST. Default
   * 30 s. A watch fails when it errs, is cut, sends a line that is not a watch event, or ends
   * before its timeout having delivered no event or bookmark; only a delivered event or bookmark
   * (or a fresh LIST) ends the failure, not an accepted watch.
   */
  failureToleranceMs: number;
}

export const DEFAULT_INFORMER_TIMINGS: InformerTimings = {
  minWatchTimeoutSeconds: 300,
  backoffInitialMs: 800,
  backoffMaxMs: 30_000,
  forbiddenRetryMs: 300_000,
  overCapRetryMs: 300_000,
  failureToleranceMs: 30_000,
};

/**
 * The wait before retry `failures` (1, 2, …): backoffInitialMs doubling up to backoffMaxMs,
 * spread ±50 % by `random` in [0, 1), so informers that failed together do not retry together.
 */
export function backoffDelay(
  failures: number,
  timings: Pick<InformerTimings, 'backoffInitialMs' | 'backoffMaxMs'>,
  random: number,
): number {
  const base = Math.min(timings.backoffMaxMs, timings.backoffInitialMs * 2 ** Math.min(failures - 1, 30));
  return base * (0.5 + random);
}

/** A 410 that ends a watch sooner than this without an event counts as ending at once (see pace()). */
const QUICK_END_MS = 1000;

/** A watch that ended before its timeout having delivered nothing: the store learned nothing from it. */
class EmptyWatchError extends Error {}

/** What an informer reports, so the metrics module counts and logs without knowing the loop. */
export interface InformerEvents {
  relisted(reason: 'initial' | 'expired' | 'retry'): void;
  watchRestarted(reason: 'closed' | 'expired' | 'empty' | 'error' | 'forbidden'): void;
  forbidden(message: string): void;
  overCap(error: ObjectCapError): void;
  /**
   * The resource answered 404 (a CRD not installed, or deleted): nothing of it exists, so the
   * store is emptied and LISTed again with backoff, without the informer's own failure warning.
   * Without this event a 404 is an error like any other.
   */
  missing?(message: string): void;
}

/**
 * What an informer keeps of its resource: filled by a LIST, kept current by the WATCH's changes.
 * The metadata informer keeps an ObjectIndex of names and labels; another store may keep whole
 * objects of one resource (the MetricDefinitions, src/definitions).
 */
export interface InformerStore<T> {
  /** A full LIST into a new copy, swapped in once complete; resolves to the list's resourceVersion. */
  list(signal: AbortSignal): Promise<string>;
  /** The Accept header of the watch, and how each event's object is read. */
  readonly watchAccept: string;
  readonly decode: ObjectDecoder<T>;
  apply(change: WatchChange<T>): void;
  /** Drops everything held (the store outgrew a cap: an ObjectCapError from list or apply). */
  clear(): void;
}

export interface ListWatchInformerOptions<T> {
  transport: KubeTransport;
  resource: ResourceRef;
  store: InformerStore<T>;
  logger: Logger;
  events: InformerEvents;
  timings: InformerTimings;
  now?: () => number;
  random?: () => number;
}

export type InformerHealth = 'serving' | 'not_synced' | 'watch_failing' | 'watch_forbidden' | 'over_cap';

/**
 * LIST then WATCH of one resource across the cluster, kept in a store (InformerStore):
 * re-watches from the last resourceVersion when the server ends a watch, relists on 410
 * Expired/Gone, backs off with jitter on errors. A caller trusts the store only while
 * `health()` is `serving`. Past a cap on what it holds (an ObjectCapError) it clears the store
 * and tries again after `overCapRetryMs`.
 */
export class ListWatchInformer<T> {
  /** When the last event (or bookmark) arrived, ms since the epoch; undefined before the first. */
  lastEventAt: number | undefined;
  private synced = false;
  private forbiddenSince: number | undefined;
  private overCap: ObjectCapError | undefined;
  private failingSince: number | undefined;
  private failures = 0;
  /** 410s in a row that ended a watch within QUICK_END_MS without an event. */
  private quickEnds = 0;
  private delivered = false;
  private lastResourceVersion: string | undefined;
  private readonly stop = new AbortController();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly collection: string;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ListWatchInformerOptions<T>) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.collection = collectionPath(options.resource, undefined);
  }

  /** The resourceVersion the store reflects; undefined before the first LIST and after a 410. */
  get resourceVersion(): string | undefined {
    return this.lastResourceVersion;
  }

  start(): void {
    this.running ??= this.run();
  }

  health(): InformerHealth {
    if (this.forbiddenSince !== undefined) return 'watch_forbidden';
    if (this.overCap !== undefined) return 'over_cap';
    if (!this.synced) return 'not_synced';
    if (this.failingSince !== undefined && this.now() - this.failingSince > this.options.timings.failureToleranceMs)
      return 'watch_failing';
    return 'serving';
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const { logger, events, resource } = this.options;
    let relistReason: 'initial' | 'expired' | 'retry' = 'initial';
    while (!this.stop.signal.aborted) {
      const started = this.now();
      this.delivered = false;
      try {
        if (this.lastResourceVersion === undefined) {
          await this.list();
          events.relisted(relistReason);
          logger.debug({ resource: resource.resource }, 'informer listed');
        }
        await this.watch();
        events.watchRestarted('closed');
        await this.pace(started);
      } catch (error) {
        if (this.stop.signal.aborted) break;
        if (error instanceof ObjectCapError) {
          // Held no longer: what is over a cap must not stay in memory while requests fall back.
          this.options.store.clear();
          this.lastResourceVersion = undefined;
          this.overCap = error;
          relistReason = 'retry';
          events.overCap(error);
          await this.sleep(this.options.timings.overCapRetryMs);
          continue;
        }
        const status = kubeStatusOf(error);
        if (status === 410) {
          // The history no longer reaches our resourceVersion: rebuild from a fresh LIST at once.
          this.lastResourceVersion = undefined;
          relistReason = 'expired';
          events.watchRestarted('expired');
          await this.pace(started);
          continue;
        }
        if (status === 404 && events.missing) {
          if (this.lastResourceVersion !== undefined) this.options.store.clear();
          this.lastResourceVersion = undefined;
          relistReason = 'retry';
          this.failures++;
          events.missing((error as Error).message);
          events.watchRestarted('error');
          await this.sleep(this.backoff());
          continue;
        }
        if (status === 403) {
          if (this.forbiddenSince === undefined) events.forbidden((error as Error).message);
          this.forbiddenSince ??= this.now();
          events.watchRestarted('forbidden');
          await this.sleep(this.options.timings.forbiddenRetryMs);
          continue;
        }
        this.failingSince ??= this.now();
        this.failures++;
        if (this.failures === 1)
          logger.warn(
            { resource: resource.resource, err: (error as Error).message },
            'informer watch failed; retrying',
          );
        if (this.lastResourceVersion === undefined) relistReason = 'retry';
        events.watchRestarted(error instanceof EmptyWatchError ? 'empty' : 'error');
        await this.sleep(this.backoff());
      }
    }
  }

  /** A full LIST into a new copy, which then replaces the one serving. */
  private async list(): Promise<void> {
    this.lastResourceVersion = await this.options.store.list(this.stop.signal);
    this.synced = true;
    this.overCap = undefined;
    this.recovered();
  }

  /**
   * One watch, until the server ends it. An end before its timeout with nothing delivered is a
   * failure (EmptyWatchError): a proxy or server that accepts every watch and closes it at once
   * would otherwise keep the store at its last LIST forever while it claimed to be serving.
   */
  private async watch(): Promise<void> {
    const { minWatchTimeoutSeconds } = this.options.timings;
    const timeoutSeconds = Math.floor(minWatchTimeoutSeconds * (1 + this.random()));
    const opened = this.now();
    const { store } = this.options;
    await watchObjects(
      this.options.transport,
      this.collection,
      store.watchAccept,
      store.decode,
      {
        resourceVersion: this.lastResourceVersion ?? '',
        timeoutSeconds,
        // A server that neither sends nor ends past its own timeout is gone.
        idleTimeoutMs: (timeoutSeconds + 30) * 1000,
        signal: this.stop.signal,
        // Accepted: RBAC allows the watch again. It is trusted again only once it delivers.
        onOpen: () => {
          this.forbiddenSince = undefined;
        },
      },
      (event) => {
        this.delivered = true;
        if (this.failingSince !== undefined || this.failures > 0) this.recovered();
        this.lastEventAt = this.now();
        if (event.resourceVersion !== '') this.lastResourceVersion = event.resourceVersion;
        if (event.type !== 'BOOKMARK') store.apply(event);
      },
    );
    const ranFor = this.now() - opened;
    if (!this.delivered && ranFor < timeoutSeconds * 1000) {
      throw new EmptyWatchError(
        `the watch ended after ${ranFor} ms of its ${timeoutSeconds} s without an event or bookmark`,
      );
    }
  }

  /**
   * A watch that ends with 410 at once, having delivered nothing, is retried after a backoff
   * rather than at once: a server or proxy that expires every watch must not be met with a LIST
   * and a WATCH in a tight loop. (A watch that ends cleanly at once is an EmptyWatchError.)
   */
  private async pace(started: number): Promise<void> {
    if (this.delivered || this.now() - started >= QUICK_END_MS) {
      this.quickEnds = 0;
      return;
    }
    this.quickEnds++;
    await this.sleep(backoffDelay(this.quickEnds, this.options.timings, this.random()));
  }

  private recovered(): void {
    if (this.failures > 0) this.options.logger.info({ resource: this.options.resource.resource }, 'informer recovered');
    this.failingSince = undefined;
    this.forbiddenSince = undefined;
    this.failures = 0;
  }

  private backoff(): number {
    return backoffDelay(this.failures, this.options.timings, this.random());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stop.signal.addEventListener('abort', done, { once: true });
    });
  }
}
