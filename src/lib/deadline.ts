/**
 * The contract for "how long may this work take, and has its caller given up", as every layer
 * passes it down: the HTTP layer makes one per metrics request, providers hand it to the cache,
 * the cache hands its signal to the wait for a shared load.
 *
 * `signal` may be made when first read (the HTTP layer's RequestDeadline: an AbortController, a
 * timer and a 'close' listener). So read it only where the work is about to wait on I/O or on
 * another caller's load, never up front: a request answered from the cache then never pays for
 * it. Code that already holds an AbortSignal passes `deadlineOf(signal)`.
 */
export interface Deadline {
  /** Aborts when the deadline passes or the caller goes away; its reason says which. */
  readonly signal: AbortSignal;
}

/** The deadline of a signal that already exists. */
export function deadlineOf(signal: AbortSignal): Deadline {
  return { signal };
}

/**
 * The deadline of one outbound call: the caller's signal plus a timeout, as one signal, and
 * whether it was the timeout that fired (`expired`). Built by hand rather than with
 * AbortSignal.any, whose dependants a long-lived source signal (a backend's own stop signal)
 * kept alive on older Node 20 releases. Call dispose() once the call is done.
 */
export class TimeoutDeadline implements Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = () => this.controller.abort(this.caller?.reason);
  expired = false;

  constructor(
    timeoutMs: number,
    private readonly caller: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    if (caller?.aborted) this.onAbort();
    else caller?.addEventListener('abort', this.onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onAbort);
  }
}
