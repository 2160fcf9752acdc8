import type { ClientRequest } from 'node:http';

/**
 * A request that failed because the kept-alive socket it went out on had been closed by the peer
 * (a server closing an idle connection just as we sent on it, or every pooled socket after the
 * server restarted). It never reached the server's handler, so sending it again is safe.
 */
export class StaleSocketError extends Error {
  readonly code: string | undefined;

  constructor(cause: NodeJS.ErrnoException) {
    super(cause.message, { cause });
    this.code = cause.code;
  }
}

/** `error` from `request`'s 'error' event, as a StaleSocketError when it is that case (and the caller has not aborted). */
export function staleSocketOr(request: ClientRequest, error: NodeJS.ErrnoException, signal?: AbortSignal): Error {
  const stale = request.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up');
  return stale && !signal?.aborted ? new StaleSocketError(error) : error;
}

/** Sends on a stale socket again: a pool of four dead sockets gives way to a new one. */
const STALE_SOCKET_RETRIES = 3;

/**
 * One idempotent exchange, sent again (up to three more times) while it fails with a
 * StaleSocketError; the one mechanism behind the Prometheus client, the kube transport and the
 * upstream client (client-go does the same). `send` marks the failure with `staleSocketOr`.
 */
export async function retryingStaleSockets<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (!(error instanceof StaleSocketError) || attempt >= STALE_SOCKET_RETRIES) throw error;
    }
  }
}
