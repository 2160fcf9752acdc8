import { ApiError } from '../../api/errors.js';

/**
 * Waits for a shared piece of work (a lookup or a batched call other requests also wait for)
 * but lets this caller leave when its own signal aborts; the work itself goes on for the others.
 */
export function abandonOnAbort<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(cancelled(what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(cancelled(what));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** What a caller that left a shared AWS call is told. */
export function cancelled(what: string): ApiError {
  return ApiError.unavailable(`${what} was cancelled: the request ended before AWS answered`);
}
