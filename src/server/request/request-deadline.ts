import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ApiError } from '../../api/errors.js';
import type { Deadline } from '../../lib/deadline.js';

/**
 * The deadline of one metrics request, and its cancellation when the client goes away, as an
 * AbortSignal made on first use. A request answered from the cache never waits on anything, so
 * it never reads `signal` and never pays for an AbortController, a timer and a 'close' listener;
 * a request that does wait gets all three, its deadline counted from the request's start.
 */
export class RequestDeadline implements Deadline {
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private onClose: (() => void) | undefined;
  private readonly startedAt = performance.now();

  constructor(
    private readonly req: IncomingMessage,
    readonly timeoutMs: number,
  ) {}

  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    if (this.req.destroyed) {
      controller.abort(clientGone());
      return controller.signal;
    }
    const left = Math.max(0, this.timeoutMs - (performance.now() - this.startedAt));
    this.timer = setTimeout(() => controller.abort(new Error(`deadline of ${this.timeoutMs} ms exceeded`)), left);
    this.onClose = () => controller.abort(clientGone());
    this.req.once('close', this.onClose);
    return controller.signal;
  }

  /** What a failure of the request's work means: past the deadline (or with the client gone), a Timeout. */
  failure(error: unknown): unknown {
    if (this.controller?.signal.aborted && !(error instanceof ApiError)) {
      return new ApiError('Timeout', `the metrics request did not complete within ${this.timeoutMs} ms`, {
        cause: error,
      });
    }
    return error;
  }

  /** Stops the timer and the listener once the request is answered. */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onClose) this.req.off('close', this.onClose);
  }
}

function clientGone(): Error {
  return new Error('client closed the connection');
}
