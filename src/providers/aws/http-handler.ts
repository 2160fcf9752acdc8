import { pipeline, type Readable } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { BodyTooLargeError, limitStream } from '../../io/bounded-body.js';

export interface BoundedHandlerLimits {
  /** Deadline for opening the TCP/TLS connection. */
  connectTimeoutMs: number;
  /** Deadline of one request, from sending it to the last byte of the response body. */
  timeoutMs: number;
  /** Bytes of one response body; past them the body fails. */
  maxResponseBytes: number;
}

/**
 * The SDK's HTTP handler with every exchange bounded in time and bytes, for every AWS call the
 * adapter makes (its SDK clients, STS for roles and web identity, the credential endpoints).
 * The SDK's own handler bounds the wait for the response headers only (and only with
 * throwOnRequestTimeout; requestTimeout alone logs a warning), and its deserialisers read the
 * whole body into memory: an endpoint that answers headers and then a byte a second, or
 * hundreds of MB, would hold a call (and everyone waiting on it) forever or cost that much heap.
 * Past either bound the body stream fails with a TimeoutError or a BodyTooLargeError, and the
 * socket is destroyed.
 */
export class BoundedNodeHttpHandler extends NodeHttpHandler {
  constructor(readonly limits: BoundedHandlerLimits) {
    super({
      connectionTimeout: limits.connectTimeoutMs,
      requestTimeout: limits.timeoutMs,
      throwOnRequestTimeout: true,
    });
  }

  override async handle(...args: Parameters<NodeHttpHandler['handle']>): ReturnType<NodeHttpHandler['handle']> {
    const started = Date.now();
    const result = await super.handle(...args);
    const body = result.response.body as Readable | undefined;
    if (!body || typeof body.pipe !== 'function') return result;
    const { maxResponseBytes, timeoutMs } = this.limits;
    // pipeline destroys the socket's stream when the limit fails, so the rest is never read.
    const limited = pipeline(body, limitStream(maxResponseBytes), () => {});
    result.response.body = limited;
    const declared = Number(result.response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxResponseBytes) {
      limited.destroy(new BodyTooLargeError(maxResponseBytes));
      return result;
    }
    const timer = setTimeout(
      () =>
        limited.destroy(
          Object.assign(new Error(`the response did not end within the ${timeoutMs} ms deadline`), {
            name: 'TimeoutError',
            code: 'ETIMEDOUT',
          }),
        ),
      Math.max(0, timeoutMs - (Date.now() - started)),
    );
    timer.unref();
    limited.once('close', () => clearTimeout(timer));
    return result;
  }
}
