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
   * - `caller` is the caller's own signal, or an object holding it (a provider request) whose
   *   `signal` is read only when the call has to wait for a load, so that a hit never makes the
   *   caller build one. When it aborts, only this call rejects (with the signal's reason). The
   *   shared load goes on while any caller still waits, and its signal aborts once every caller
   *   has gone.
   * - When `load` fails with anything but a NotFound ApiError and a value younger than
   *   TTL + maxStale is cached, that value is returned instead. A caller's own `maxStaleMs`
   *   (a metric's failure policy) replaces the backend's maxStale for that caller; 0 refuses
   *   stale values. `onStale` is told whenever this caller is served one. Without one, unavailability
   *   (ServiceUnavailable, Timeout, TooManyRequests) becomes a 503 naming the backend and the
   *   error; other errors are rethrown as they are.
   * - A NotFound from `load` is remembered for `negativeTtl` and rethrown to every caller.
   *
   * The returned value is the cached object itself, shared by every caller: never mutate it.
   */
  fetch<T>(key: string, load: (signal: AbortSignal) => Promise<T>, caller: CallerSignal): Promise<T>;
}

/** A caller's AbortSignal, or something whose `signal` is the caller's AbortSignal, read only when needed. */
export type CallerSignal = AbortSignal | StalePolicyCaller;

/** A caller (a provider request) that may also bound how stale a value it accepts on a backend failure. */
export interface StalePolicyCaller {
  readonly signal: AbortSignal;
  /** How long past its TTL a value may be served to this caller while the backend fails. */
  readonly maxStaleMs?: number;
  /** Called when this caller is served a stale value because the backend failed; `ageMs` is the value's age. */
  readonly onStale?: (ageMs: number, error: unknown) => void;
}

/** The AbortSignal itself; reading it is what makes a lazily built one (RequestDeadline) exist. */
export function callerSignal(caller: CallerSignal): AbortSignal {
  return 'signal' in caller ? caller.signal : caller;
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
   * Bound on the V8 heap the entries hold, as estimated per entry (see entry-size.ts): within
   * 10 % of the real heap for Prometheus answers; process RSS grows by more.
   */
  maxBytes: number;
  /**
   * The last part of the TTL, as a fraction of it, in which a hit also starts a background
   * refresh so the next callers find a fresh value; 0 turns refresh-ahead off. Default 0.2.
   */
  refreshAheadRatio?: number;
}
