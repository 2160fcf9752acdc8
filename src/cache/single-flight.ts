/**
 * One running load shared by every caller waiting for the same key. Each caller waits with its
 * own AbortSignal: aborting it releases that caller only. The load's own signal aborts when the
 * last waiter leaves, so nobody pays for an answer no one will read.
 *
 * A flight started with `keepAlive` (a background refresh) runs with no waiter at all; once a
 * caller joins it, it follows the usual rule, so a load that hangs cannot pin its key forever.
 */
export class Flight<V> {
  readonly settled: Promise<V>;
  private readonly controller = new AbortController();
  /** One entry per waiting caller: rejects that caller. */
  private readonly waiters = new Set<(reason: unknown) => void>();

  /** `run` must not reject: it reports failure inside `V`. */
  constructor(
    run: (signal: AbortSignal) => Promise<V>,
    private keepAlive: boolean,
    private readonly onAbandoned: () => void,
  ) {
    this.settled = run(this.controller.signal);
  }

  /** The flight's result, or a rejection with `signal.reason` as soon as `signal` aborts. */
  wait(signal: AbortSignal): Promise<V> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.controller.signal.aborted) return Promise.reject(this.controller.signal.reason);
    this.keepAlive = false;
    return new Promise<V>((resolve, reject) => {
      const leave = (): boolean => {
        if (!this.waiters.delete(stop)) return false;
        signal.removeEventListener('abort', onAbort);
        return true;
      };
      const stop = (reason: unknown): void => {
        if (leave()) reject(reason);
      };
      const onAbort = (): void => {
        stop(signal.reason);
        if (this.waiters.size === 0 && !this.keepAlive) this.abort(abandoned());
      };
      this.waiters.add(stop);
      signal.addEventListener('abort', onAbort, { once: true });
      void this.settled.then((value) => {
        if (leave()) resolve(value);
      });
    });
  }

  /** Stops the load (`run` sees its signal abort with `reason`) and rejects every waiter still there with `reason`. */
  abort(reason: unknown): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(reason);
    for (const stop of [...this.waiters]) stop(reason);
    this.onAbandoned();
  }
}

function abandoned(): DOMException {
  return new DOMException('every caller waiting for this backend query gave up', 'AbortError');
}
