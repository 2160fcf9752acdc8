import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { ApiError, type StatusReason } from '../api/errors.js';
import { createLimiter, type Limiter, Overloaded } from '../concurrency/limiter.js';
import { formatDuration } from '../lib/duration.js';
import { type Flight, SingleFlight } from '../lib/single-flight.js';
import { formatBytes } from '../lib/text.js';
import { createLogSampler, type LogSampler } from '../observability/log-sampler.js';
import type { Logger } from '../observability/logger.js';
import { type BudgetHolder, CacheBudget } from './cache-budget.js';
import {
  type AnswerSeries,
  type CacheGaugeSource,
  type CacheMetrics,
  cacheMetricsFor,
  type RequestResult,
} from './cache-metrics.js';
import { DEFAULT_CACHE_BUDGET_BYTES, DEFAULT_CACHE_SETTINGS, staleWhileRevalidateMsOf } from './config.js';
import { markCachedEntry } from './entry-identity.js';
import { CACHED_MARK_BYTES, entryBytes, estimateErrorBytes, estimateValueBytes } from './entry-size.js';
import { GrowingLru } from './growing-lru.js';
import type { CacheCaller, CacheRefresh, CacheSettings, QueryCache } from './query-cache.js';

export interface QueryCacheDeps {
  /** Where the cache metrics live; shared by every backend's cache, told apart by the `backend` label. */
  registry: Registry;
  /** Milliseconds since the epoch; decides freshness and ages. Default Date.now. */
  now?: () => number;
  logger?: Logger;
  /** Estimated heap bytes a value holds; its key and a fixed overhead are added. Default: estimateValueBytes. */
  sizeOf?: (value: unknown) => number;
  /** The process-wide byte budget this cache shares with every other; default one of its own (DEFAULT_CACHE_BUDGET_BYTES). */
  budget?: CacheBudget;
}

export interface CacheStats {
  entries: number;
  /** Estimated bytes, the figure `maxBytes` bounds. */
  bytes: number;
  inflight: number;
}

/** A cache as its owner (start-up, a reload) holds it: what backends see (QueryCache), and its upkeep. */
export interface OwnedQueryCache extends QueryCache {
  stats(): CacheStats;
  /** Forgets every entry; loads already running still answer their callers. */
  clear(): void;
  /** Aborts running loads, forgets every entry and stops reporting; later fetches are refused with 503. */
  close(): void;
}

type Entry =
  | {
      kind: 'value';
      key: string;
      value: unknown;
      loadedAt: number;
      size: number;
      /** When the last refresh of this value failed, and how; unset while the backend answers. */
      failedAt?: number;
      failure?: unknown;
      /** Loaded by a background refresher (CacheRefresh), which comes back for it: hits do not refresh it ahead. */
      kept?: true;
    }
  | { kind: 'not_found'; key: string; error: ApiError; loadedAt: number; size: number };

/**
 * What every caller of one flight receives. A failed load carries the last value, if one is
 * kept, and each caller decides by its own stale bound whether it takes it.
 */
type Answer =
  | { kind: 'value'; value: unknown; loadedAt: number }
  | { kind: 'error'; error: unknown; last?: { value: unknown; loadedAt: number } };

const STALE_RETRY_MS = 5_000;

// Reasons that mean "the backend cannot answer right now": without a stale value they become a
// 503 naming the backend. Others (BadRequest, Forbidden, InternalError …) reach the caller as thrown.
const UNAVAILABLE_REASONS: ReadonlySet<StatusReason> = new Set(['ServiceUnavailable', 'Timeout', 'TooManyRequests']);

/**
 * The cache one backend puts every read through (see QueryCache for the contract). Freshness
 * is decided with `deps.now` on each request: there are no timers, so a key nobody asks for
 * again costs nothing until LRU eviction reclaims it.
 *
 * ```ts
 * const cache = createQueryCache('prometheus', resolveCacheSettings(config.cache, 'prometheus'), { registry, logger });
 * const samples = await cache.fetch(promql, (signal) => client.query(promql, { signal }), request);
 * ```
 */
export function createQueryCache(backend: string, settings: CacheSettings, deps: QueryCacheDeps): OwnedQueryCache {
  return new LruQueryCache(backend, settings, deps);
}

/** Oversize answers and failed loads warned about per minute and cache; the evictions and loads metrics count every one. */
const WARNINGS_PER_MINUTE = 5;

class LruQueryCache implements OwnedQueryCache, CacheGaugeSource, BudgetHolder<Entry> {
  /** This backend's entries, bounded by its own maxEntries (and maxBytes, when its section sets one). */
  private readonly entries: GrowingLru<string, Entry>;
  /** Bounds the bytes of every backend's entries together; holds each entry of `entries` too. */
  private readonly budget: CacheBudget;
  private readonly inflight = new SingleFlight<Answer>();
  private readonly metrics: CacheMetrics;
  private readonly answers: AnswerSeries;
  private readonly now: () => number;
  private readonly sizeOf: (value: unknown) => number;
  private readonly refreshAheadAfterMs: number;
  /** While every load slot is taken, how long past its TTL a value is answered at once (see CacheSettings). */
  private readonly staleWhileRevalidateMs: number;
  private readonly maxConcurrentLoads: number;
  /** After a failed refresh, how long stale answers go out before the backend is tried again. */
  private readonly staleRetryMs: number;
  /** Bounds concurrent loads of this backend; hits never reach it. */
  private readonly limiter: Limiter;
  /** How long past the TTL values are kept for stale answers: the largest bound any caller asked for. */
  private keepStaleMs: number;
  /** Answers too large to cache, and failed loads, are warned about a few times a minute, not per request. */
  private readonly oversizeLog: LogSampler;
  private readonly failureLog: LogSampler;
  private closed = false;

  constructor(
    readonly backend: string,
    private readonly settings: CacheSettings,
    private readonly deps: QueryCacheDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.sizeOf = deps.sizeOf ?? estimateValueBytes;
    const ratio = settings.refreshAheadRatio ?? DEFAULT_CACHE_SETTINGS.refreshAheadRatio;
    this.refreshAheadAfterMs = ratio > 0 ? settings.ttlMs * (1 - ratio) : Number.POSITIVE_INFINITY;
    this.staleRetryMs = Math.min(settings.ttlMs, STALE_RETRY_MS);
    this.staleWhileRevalidateMs = staleWhileRevalidateMsOf(settings);
    this.maxConcurrentLoads = settings.maxConcurrentLoads ?? DEFAULT_CACHE_SETTINGS.maxConcurrentLoads;
    this.keepStaleMs = settings.maxStaleMs;
    this.oversizeLog = createLogSampler(WARNINGS_PER_MINUTE, 60_000, this.now);
    this.failureLog = createLogSampler(WARNINGS_PER_MINUTE, 60_000, this.now);
    this.metrics = cacheMetricsFor(deps.registry);
    this.limiter = createLimiter({
      name: `${backend} backend`,
      label: backend,
      maxConcurrent: this.maxConcurrentLoads,
      maxQueued: settings.maxQueuedLoads ?? DEFAULT_CACHE_SETTINGS.maxQueuedLoads,
      registry: deps.registry,
    });
    this.metrics.sources.add(this);
    this.metrics.initialise(backend);
    this.answers = this.metrics.answerSeries(backend);
    this.budget = deps.budget ?? new CacheBudget(DEFAULT_CACHE_BUDGET_BYTES);
    this.entries = new GrowingLru<string, Entry>(settings.maxEntries, {
      // Without a cap of its own the budget bounds this cache; a maxSize still has lru-cache sum the sizes for stats().
      maxSize: settings.maxBytes ?? Number.MAX_SAFE_INTEGER,
      sizeCalculation: (entry) => entry.size,
      // Every way an entry leaves (evicted, deleted, replaced by a new load) releases its bytes from the budget.
      dispose: (entry, _key, reason) => {
        this.budget.remove(entry);
        if (reason === 'evict') this.metrics.evictions.inc({ backend, reason: 'capacity' });
      },
    });
  }

  evictedByBudget(entry: Entry): void {
    // The key may hold a newer entry by now; only the one the budget let go leaves.
    if (this.entries.peek(entry.key) !== entry) return;
    this.entries.delete(entry.key);
    this.metrics.evictions.inc({ backend: this.backend, reason: 'capacity' });
  }

  async fetch<T>(key: string, load: (signal: AbortSignal) => Promise<T>, caller: CacheCaller): Promise<T> {
    if (this.closed) throw ApiError.unavailable(`${this.backend} backend is shutting down`);
    if (caller.refresh) return this.refreshKey(key, load, caller, caller.refresh);
    const now = this.now();
    const entry = this.liveEntry(key, now);
    if (entry?.kind === 'not_found') {
      this.count('negative_hit');
      throw entry.error;
    }
    if (entry && now - entry.loadedAt < this.settings.ttlMs) {
      this.count('hit');
      this.observeAge(now - entry.loadedAt);
      if (now - entry.loadedAt >= this.refreshAheadAfterMs && !entry.kept && !this.inflight.has(key)) {
        this.startFlight(key, afterThisTurn(load));
      }
      return entry.value as T;
    }
    const maxStaleMs = caller.stalePolicy?.maxStaleMs ?? this.settings.maxStaleMs;
    if (maxStaleMs > this.keepStaleMs) this.keepStaleMs = maxStaleMs;
    if (entry?.failedAt !== undefined) {
      // The backend failed on this key moments ago: answer at once rather than make every HPA
      // request wait out another timeout (the last value, or the failure to a caller that takes
      // no stale value), and retry in the background.
      const retry = now - entry.failedAt >= this.staleRetryMs;
      if (now - entry.loadedAt < this.settings.ttlMs + maxStaleMs) {
        if (retry && !this.inflight.has(key)) this.startFlight(key, load);
        return this.serveStale(entry, entry.failure, caller, now);
      }
      if (!retry) {
        this.count('miss');
        throw this.unavailable(entry.failure, maxStaleMs);
      }
    }
    if (entry?.kind === 'value' && this.revalidatesInBackground(key, load, entry, now, maxStaleMs)) {
      this.count('stale_while_revalidate');
      this.observeAge(now - entry.loadedAt);
      return entry.value as T;
    }
    // Only now, with a wait ahead, is the caller's signal needed.
    const signal = caller.deadline.signal;
    if (signal.aborted) throw signal.reason;

    const joined = this.inflight.get(key);
    const flight = joined ?? this.startFlight(key, load);
    const waited: RequestResult = joined ? 'coalesced' : 'miss';
    let answer: Answer;
    try {
      answer = await flight.wait(signal);
    } catch (reason) {
      this.count(waited);
      throw reason;
    }
    if (answer.kind === 'error') {
      const { last } = answer;
      const at = this.now();
      if (last && at - last.loadedAt < this.settings.ttlMs + maxStaleMs) {
        return this.serveStale(last, answer.error, caller, at);
      }
      this.count(waited);
      throw this.unavailable(answer.error, maxStaleMs);
    }
    this.count(waited);
    this.observeAge(this.now() - answer.loadedAt);
    return answer.value as T;
  }

  /**
   * Whether an expired value is answered now and reloaded behind the answer: only while the
   * backend is busy (every load slot taken, so this caller would queue) and the value expired
   * less than staleWhileRevalidate ago, and never past the caller's own stale bound. A backend
   * that falls behind would otherwise make every poll arrive after its value expired and wait in
   * the queue, the waits delaying the next polls past expiry in turn (bench (b): all misses).
   */
  private revalidatesInBackground<T>(
    key: string,
    load: (signal: AbortSignal) => Promise<T>,
    entry: { loadedAt: number },
    now: number,
    maxStaleMs: number,
  ): boolean {
    const pastTtlMs = now - entry.loadedAt - this.settings.ttlMs;
    if (pastTtlMs >= Math.min(this.staleWhileRevalidateMs, maxStaleMs)) return false;
    const { running, queued } = this.limiter.stats();
    if (running < this.maxConcurrentLoads) return false;
    // The reload waits in the queue only while it is short: the rest of it stays for callers with
    // nothing cached, who would otherwise be refused (429) behind reloads of values still served.
    if (!this.inflight.has(key) && queued < this.maxConcurrentLoads) this.startFlight(key, afterThisTurn(load));
    return true;
  }

  /** A refresher's call (see CacheRefresh): loads when the value expires within the lead, and waits for it. */
  private async refreshKey<T>(
    key: string,
    load: (signal: AbortSignal) => Promise<T>,
    caller: CacheCaller,
    refresh: CacheRefresh,
  ): Promise<T> {
    this.count('refresh');
    const now = this.now();
    const entry = this.liveEntry(key, now);
    if (entry?.kind === 'not_found') throw entry.error;
    if (entry && entry.failedAt === undefined && now - entry.loadedAt < this.settings.ttlMs - refresh.leadMs) {
      // The refresher comes back for it before it expires: hits need not refresh it ahead.
      entry.kept = true;
      this.noteExpiry(refresh, entry.loadedAt);
      return entry.value as T;
    }
    const flight = this.inflight.get(key) ?? this.startFlight(key, load, true);
    const answer = await flight.wait(caller.deadline.signal);
    if (answer.kind === 'error') throw answer.error;
    this.noteExpiry(refresh, answer.loadedAt);
    return answer.value as T;
  }

  private noteExpiry(refresh: CacheRefresh, loadedAt: number): void {
    const expiresAt = loadedAt + this.settings.ttlMs;
    if (refresh.expiresAt === undefined || expiresAt < refresh.expiresAt) refresh.expiresAt = expiresAt;
  }

  private serveStale<T>(
    last: { value: unknown; loadedAt: number },
    error: unknown,
    caller: CacheCaller,
    now: number,
  ): T {
    this.count('stale');
    this.observeAge(now - last.loadedAt);
    caller.stalePolicy?.onStale?.(now - last.loadedAt, error);
    return last.value as T;
  }

  stats(): CacheStats {
    return { entries: this.entries.size, bytes: this.entries.calculatedSize, inflight: this.inflight.size };
  }

  clear(): void {
    this.entries.clear();
  }

  close(): void {
    this.closed = true;
    const reason = ApiError.unavailable(`${this.backend} backend is shutting down`);
    this.inflight.abortAll(reason);
    this.entries.clear();
    this.metrics.sources.delete(this);
    this.limiter.close();
  }

  /** The entry for `key` if it may still be used (fresh, or young enough to serve stale); dead ones are dropped. */
  private liveEntry(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const usableFor = entry.kind === 'value' ? this.settings.ttlMs + this.keepStaleMs : this.settings.negativeTtlMs;
    if (now - entry.loadedAt < usableFor) {
      this.budget.touch(entry);
      return entry;
    }
    this.entries.delete(key);
    this.metrics.evictions.inc({ backend: this.backend, reason: 'expired' });
    return undefined;
  }

  private startFlight<T>(key: string, load: (signal: AbortSignal) => Promise<T>, kept = false): Flight<Answer> {
    return this.inflight.start(key, (signal) => this.runLoad(key, load, signal, kept));
  }

  /** Runs one backend load and records its outcome; never rejects. */
  private async runLoad<T>(
    key: string,
    load: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
    kept: boolean,
  ): Promise<Answer> {
    const started = performance.now();
    const backend = this.backend;
    try {
      const value = await this.limiter.run(() => load(signal), signal);
      this.metrics.loadDuration.observe({ backend }, (performance.now() - started) / 1000);
      if (signal.aborted) return this.aborted(signal);
      this.metrics.loads.inc({ backend, outcome: 'success' });
      const loadedAt = this.now();
      const marks = markCachedEntry(value);
      const size = entryBytes(key, this.sizeOf(value)) + marks * CACHED_MARK_BYTES;
      this.store(
        kept
          ? { kind: 'value', key, value, loadedAt, size, kept: true }
          : { kind: 'value', key, value, loadedAt, size },
      );
      return { kind: 'value', value, loadedAt };
    } catch (error) {
      this.metrics.loadDuration.observe({ backend }, (performance.now() - started) / 1000);
      if (signal.aborted) return this.aborted(signal);
      if (error instanceof ApiError && error.reason === 'NotFound') {
        this.metrics.loads.inc({ backend, outcome: 'not_found' });
        if (this.settings.negativeTtlMs > 0) {
          const size = entryBytes(key, estimateErrorBytes(error));
          this.store({ kind: 'not_found', key, error, loadedAt: this.now(), size });
        }
        return { kind: 'error', error };
      }
      if (error instanceof Overloaded) return this.refused(key, error);
      this.metrics.loads.inc({ backend, outcome: 'error' });
      return this.fallBack(key, error);
    }
  }

  /**
   * Our own limiter turned the load away (every slot busy, the queue full): the backend was never
   * asked, so nothing about it failed. The entry is not marked failed (a later caller tries again
   * rather than being served stale for staleRetryMs), no "backend load failed" is logged, and the
   * load counts as refused, not as a backend error the alert on error loads would page for.
   * Callers that take a stale value still get the last one.
   */
  private refused(key: string, error: Overloaded): Answer {
    this.metrics.loads.inc({ backend: this.backend, outcome: 'refused' });
    const previous = this.servableStale(key);
    if (previous) return { kind: 'error', error, last: { value: previous.value, loadedAt: previous.loadedAt } };
    return { kind: 'error', error };
  }

  /** The key's value while it is kept for stale answers (ttl + the largest stale bound asked for). */
  private servableStale(key: string): Extract<Entry, { kind: 'value' }> | undefined {
    const entry = this.entries.peek(key);
    if (entry?.kind !== 'value' || this.now() - entry.loadedAt >= this.settings.ttlMs + this.keepStaleMs)
      return undefined;
    return entry;
  }

  private aborted(signal: AbortSignal): Answer {
    this.metrics.loads.inc({ backend: this.backend, outcome: 'aborted' });
    return { kind: 'error', error: signal.reason };
  }

  /** After a failed load: the error, with the last value while it is kept; each caller decides whether it takes it. */
  private fallBack(key: string, error: unknown): Answer {
    const message = error instanceof Error ? error.message : String(error);
    const previous = this.servableStale(key);
    const dropped = this.failureLog.fields();
    if (previous) {
      previous.failedAt = this.now();
      previous.failure = error;
      if (dropped)
        this.deps.logger?.warn(
          { backend: this.backend, key, ageMs: this.now() - previous.loadedAt, error: message, ...dropped },
          'backend load failed; the last value is kept for callers that accept it',
        );
      return { kind: 'error', error, last: { value: previous.value, loadedAt: previous.loadedAt } };
    }
    if (dropped)
      this.deps.logger?.warn(
        { backend: this.backend, key, error: message, ...dropped },
        'backend load failed; no value to fall back on',
      );
    return { kind: 'error', error };
  }

  /**
   * Unavailability (ServiceUnavailable, Timeout, TooManyRequests) becomes a 503 naming the backend
   * and the window; other errors stay, and so does our own limiter's 429 (the client should back off).
   */
  private unavailable(error: unknown, maxStaleMs: number): unknown {
    if (!(error instanceof ApiError && UNAVAILABLE_REASONS.has(error.reason)) || error instanceof Overloaded)
      return error;
    // A value is served for ttl + maxStale after it was loaded: that is the window to name.
    const window = formatDuration(this.settings.ttlMs + maxStaleMs);
    return ApiError.unavailable(
      `${this.backend} backend unavailable and no value younger than ${window} is cached: ${error.message}`,
      error,
    );
  }

  private store(entry: Entry): void {
    const { key } = entry;
    const limit = this.sizeLimit();
    if (entry.size > limit.maxBytes) {
      // lru-cache would refuse it silently; drop the older entry too so it is never served in its place.
      this.entries.delete(key);
      this.metrics.evictions.inc({ backend: this.backend, reason: 'oversize' });
      const dropped = this.oversizeLog.fields();
      if (!dropped) return;
      this.deps.logger?.warn(
        { backend: this.backend, key, bytes: entry.size, maxBytes: limit.maxBytes, ...dropped },
        `backend answer larger than ${limit.name} (${formatBytes(limit.maxBytes)}); not cached`,
      );
      return;
    }
    this.entries.set(key, entry);
    this.budget.add(entry, this);
  }

  /** The tighter of this backend's own maxBytes and the process budget, named as the config writes it. */
  private sizeLimit(): { maxBytes: number; name: string } {
    const own = this.settings.maxBytes;
    if (own !== undefined && own < this.budget.maxBytes)
      return { maxBytes: own, name: `the ${this.backend} cache's maxBytes` };
    return { maxBytes: this.budget.maxBytes, name: 'the cache budget cache.maxBytes' };
  }

  private count(result: RequestResult): void {
    this.answers.results[result].count++;
  }

  private observeAge(ageMs: number): void {
    this.answers.servedValueAge.observe(Math.max(0, ageMs) / 1000);
  }
}

/**
 * A refresh-ahead load started by a hit waits for the next turn: in the hit's own turn the poll's
 * answer is rendered and written first, and the backend request (building it, the socket write
 * that wakes the backend) is not part of the poll's latency. The flight is registered at once,
 * so other hits meanwhile join it.
 */
function afterThisTurn<T>(load: (signal: AbortSignal) => Promise<T>): (signal: AbortSignal) => Promise<T> {
  return (signal) => new Promise<void>((resolve) => setImmediate(resolve)).then(() => load(signal));
}
