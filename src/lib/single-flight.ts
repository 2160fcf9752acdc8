/**
 * Single-flight: callers asking for the same key at the same time share one running load. The
 * one mechanism behind the metric cache's backend loads, the TokenReview and SubjectAccessReview
 * caches and the SQS queue-URL lookups (test/lib/single-flight.test.ts):
 *
 * - One load per key at a time. A caller that comes while it runs joins it and gets its value or
 *   its rejection, as every other caller does.
 * - Each caller waits with its own AbortSignal (or none): when it aborts, that caller alone
 *   rejects, with the signal's reason; the load goes on for the others.
 * - The load gets a signal of its own. With `abandoned: 'abort'` (the default) it aborts once the
 *   last waiting caller has left, so nobody pays for an answer no one will read, and the key is
 *   free for a new load at once. A load started with no caller (a background refresh) runs until
 *   a caller joins it and leaves. With `abandoned: 'finish'` a load runs to its end with or
 *   without callers, and the next caller joins it.
 * - Once a load settles the key is free: a failure is not remembered; what a value is
 *   remembered as is the user's business.
 */
export class SingleFlight<V> {
  private readonly flights = new Map<string, Flight<V>>();

  constructor(private readonly options: { abandoned?: 'abort' | 'finish' } = {}) {}

  /** The value of the load running for `key`, or of one `load` starts now; `signal` releases this caller only. */
  run(key: string, load: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    return (this.flights.get(key) ?? this.start(key, load)).wait(signal);
  }

  /** The load running for `key`, if any. */
  get(key: string): Flight<V> | undefined {
    return this.flights.get(key);
  }

  has(key: string): boolean {
    return this.flights.has(key);
  }

  /** Starts a load for `key` with no caller waiting yet; a load already running for it is replaced as the one callers join. */
  start(key: string, load: (signal: AbortSignal) => Promise<V>): Flight<V> {
    const forget = (): void => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    const flight: Flight<V> = new Flight(load, this.options.abandoned !== 'finish', forget);
    this.flights.set(key, flight);
    void flight.settled.then(forget, forget);
    return flight;
  }

  /** Loads running now. */
  get size(): number {
    return this.flights.size;
  }

  /** Aborts every running load with `reason` and rejects all their callers with it. */
  abortAll(reason: unknown): void {
    for (const flight of [...this.flights.values()]) flight.abort(reason);
    this.flights.clear();
  }
}

/** One running load and the callers waiting for it; made by SingleFlight. */
export class Flight<V> {
  readonly settled: Promise<V>;
  private readonly controller = new AbortController();
  /** One entry per waiting caller: rejects that caller. */
  private readonly waiters = new Set<(reason: unknown) => void>();

  constructor(
    load: (signal: AbortSignal) => Promise<V>,
    private readonly abortWhenAbandoned: boolean,
    private readonly onAborted: () => void,
  ) {
    try {
      this.settled = load(this.controller.signal);
    } catch (error) {
      this.settled = Promise.reject(error);
    }
    // Every caller may have left by the time the load fails: the rejection is theirs, not unhandled.
    this.settled.catch(() => undefined);
  }

  /** The load's value or rejection, or a rejection with `signal.reason` as soon as `signal` aborts. */
  wait(signal?: AbortSignal): Promise<V> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.controller.signal.aborted) return Promise.reject(this.controller.signal.reason);
    return new Promise<V>((resolve, reject) => {
      const leave = (): boolean => {
        if (!this.waiters.delete(stop)) return false;
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const stop = (reason: unknown): void => {
        if (leave()) reject(reason);
      };
      const onAbort = (): void => {
        stop(signal?.reason);
        if (this.waiters.size === 0 && this.abortWhenAbandoned) this.abort(abandoned());
      };
      this.waiters.add(stop);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.settled.then(
        (value) => {
          if (leave()) resolve(value);
        },
        (error: unknown) => {
          if (leave()) reject(error);
        },
      );
    });
  }

  /** Stops the load (its signal aborts with `reason`) and rejects every caller still waiting with `reason`. */
  abort(reason: unknown): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(reason);
    for (const stop of [...this.waiters]) stop(reason);
    this.onAborted();
  }
}

function abandoned(): DOMException {
  return new DOMException('every caller waiting for this load gave up', 'AbortError');
}
