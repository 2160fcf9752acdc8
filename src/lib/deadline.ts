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
