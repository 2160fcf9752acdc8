import type { Deadline } from '../lib/deadline.js';

/**
 * What a backend sees of the cache: "give me the value for this resolved backend query,
 * loading it at most once however many requests ask at the same time". Keys are the
 * backend's own resolved query (a PromQL string, a queue URL, a CloudWatch query), never a URL,
 * so two HPAs that ask the same thing differently share one entry.
 *
 * The cache knows nothing of HTTP. Errors thrown by `load` are ApiErrors; a NotFound is cached
 * briefly (negative caching), other errors fall back to a stale value within `maxStale`.
 */
export interface QueryCache {
  /**
   * The value for `key`: from the cache while it is younger than the TTL, else from `load`.
   *
   * - Concurrent calls for one key share one `load`; all of them get its value or its error.
   * - `caller.deadline` is the caller's (see Deadline): its `signal` is read only when the call
   *   has to wait for a load, so a hit never makes the caller build one. When it aborts, only this
   *   call rejects (with the signal's reason). The shared load goes on while any caller still
   *   waits, and its signal aborts once every caller has gone.
   * - When `load` fails with anything but a NotFound ApiError and a value younger than
   *   TTL + maxStale is cached, that value is returned instead. A caller's own
   *   `stalePolicy.maxStaleMs` (a metric's failure policy) replaces the backend's maxStale for that
   *   caller; 0 refuses stale values. `stalePolicy.onStale` is told whenever this caller is served
   *   one. Without one, unavailability
   *   (ServiceUnavailable, Timeout, TooManyRequests) becomes a 503 naming the backend and the
   *   error; other errors are rethrown as they are.
   * - A NotFound from `load` is remembered for `negativeTtl` and rethrown to every caller.
   *
   * The returned value is the cached object itself, shared by every caller: never mutate it.
   * The cache marks it as a cached entry (see isCachedEntry) when it stores it.
   */
  fetch<T>(key: string, load: (signal: AbortSignal) => Promise<T>, caller: CacheCaller): Promise<T>;
}

/** Who asks the cache: every provider request is one, so a backend passes its request as it is. */
export interface CacheCaller {
  /** When the caller gives up; read only when the call has to wait (see Deadline). */
  readonly deadline: Deadline;
  /** How stale a value this caller takes while the backend fails (a metric's failure policy). */
  readonly stalePolicy?: StalePolicy;
  /** Set by a background refresher keeping a key fresh for the HPAs that read it, never by an HPA's request. */
  readonly refresh?: CacheRefresh;
}

/**
 * A background refresher's call (src/refresh: the reads the cluster's HPAs will make), which
 * keeps a key fresh so that every HPA poll of it is a hit:
 * - the value is loaded now when it would expire within `leadMs` (or is absent, expired, or its
 *   last load failed), and the call waits for that load (joining one in flight); otherwise it is
 *   answered from the cache;
 * - the cache sets `expiresAt` to when the value answered or loaded expires (the earliest over
 *   the call's fetches), so the refresher knows when to come back;
 * - a value a refresher loaded or saw is not refreshed ahead by hits (the refresher comes back
 *   for it), so a kept key costs one load per TTL whatever the poll period;
 * - a failed load rejects the call, with no stale value: the HPAs' own requests still get the
 *   last value within their stale bound, as without a refresher;
 * - counted as result `refresh`, never as an HPA's hit or miss.
 */
export interface CacheRefresh {
  readonly leadMs: number;
  expiresAt: number | undefined;
}

/** The least lead a refresher keeps before a value expires (src/refresh; the AWS cost estimate counts with it). */
export const MIN_REFRESH_LEAD_MS = 1_000;

export interface StalePolicy {
  /** How long past its TTL a value may be served to this caller while the backend fails; 0 refuses stale values. */
  readonly maxStaleMs?: number;
  /** Called when this caller is served a stale value because the backend failed; `ageMs` is the value's age. */
  readonly onStale?: (ageMs: number, error: unknown) => void;
}

export interface CacheSettings {
  /** How long a value is served without asking the backend again. */
  ttlMs: number;
  /** How long past its TTL a value may still be served while the backend fails. */
  maxStaleMs: number;
  /** How long a NotFound ("no data") answer is remembered. */
  negativeTtlMs: number;
  maxEntries: number;
  /**
   * A cap on the V8 heap this backend's entries hold, as estimated per entry (see entry-size.ts):
   * within 10 % of the real heap for Prometheus answers; process RSS grows by more. Unset, only
   * the process-wide budget (CacheBudget, `cache.maxBytes`) bounds them.
   */
  maxBytes?: number;
  /**
   * The last part of the TTL, as a fraction of it, in which a hit also starts a background
   * refresh so the next callers find a fresh value; 0 turns refresh-ahead off. Default 0.2.
   */
  refreshAheadRatio?: number;
  /**
   * While every load slot of this backend is taken (maxConcurrentLoads running, so a new load
   * would queue), a value expired less than this long ago is answered at once and reloaded in the
   * background, instead of the caller queueing behind the backend: a backend that falls behind
   * would otherwise make every poll arrive after expiry and wait, which keeps it behind (and a
   * value that waited in that queue is no fresher than the one cached). Never longer than the
   * caller's own stale bound (stalePolicy.maxStaleMs, else maxStale), the bound a failing backend
   * has; 0 turns it off. Default maxStale. The reload joins the queue only while fewer loads wait
   * than may run, keeping the queue for callers with nothing cached.
   */
  staleWhileRevalidateMs?: number;
  /** Backend loads running at once; more wait in a queue. Default 16. */
  maxConcurrentLoads?: number;
  /** Loads waiting for a slot; beyond it a load is refused with 429 and Retry-After. Default 256. */
  maxQueuedLoads?: number;
}
