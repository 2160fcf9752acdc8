import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { BodyTooLargeError, readBoundedBody } from '../io/bounded-body.js';
import type { UpstreamConfig } from './config.js';
import type { UpstreamAnswer } from './forwarding.js';
import { TokenFile } from './token-file.js';

export type UpstreamFailureKind = 'timeout' | 'unreachable' | 'too_large' | 'credentials' | 'garbage';

/** A call that got no usable answer; `message` says why in words a user can act on. */
export class UpstreamCallFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Value lists are a few KiB; discovery of a big Prometheus setup a few MiB. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/**
 * HTTPS to one upstream over kept-alive connections, authenticated as the adapter itself (its
 * service-account token, or a client certificate). The caller's credentials never travel: the
 * request carries only the headers set here.
 */
export class UpstreamClient {
  private readonly agent: Agent;
  private readonly base: URL;

  private constructor(
    private readonly config: UpstreamConfig,
    tls: { ca?: Buffer; cert?: Buffer; key?: Buffer },
    private readonly token: TokenFile | undefined,
  ) {
    this.base = new URL(config.url);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 64,
      maxFreeSockets: 16,
      rejectUnauthorized: !config.insecureSkipTLSVerify,
      ...tls,
    });
  }

  static async create(config: UpstreamConfig): Promise<UpstreamClient> {
    const read = (path: string | undefined) => (path === undefined ? undefined : readFile(path));
    const [ca, cert, key] = await Promise.all([
      read(config.caFile),
      read(config.clientCertFile),
      read(config.clientKeyFile),
    ]);
    const token = cert === undefined ? new TokenFile(config.tokenFile) : undefined;
    return new UpstreamClient(config, { ca, cert, key }, token);
  }

  get url(): string {
    return this.base.href;
  }

  /**
   * GET `pathAndQuery` as JSON within `timeout` and the caller's signal. Any status the upstream
   * answers is returned; a 401 is retried once with the token read again (it may have rotated).
   */
  async get(pathAndQuery: string, signal: AbortSignal): Promise<UpstreamAnswer> {
    // One controller and timer per call, linked to the caller's signal by hand: AbortSignal.any
    // with AbortSignal.timeout costs measurably more on every forwarded request.
    const call = new AbortController();
    const timer = setTimeout(() => call.abort(new OwnTimeout()), this.config.timeout);
    const onAbort = () => call.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      const first = await this.send(pathAndQuery, call.signal);
      if (first.status !== 401 || !this.token) return first;
      this.token.invalidate();
      return await this.send(pathAndQuery, call.signal);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private async send(pathAndQuery: string, signal: AbortSignal): Promise<UpstreamAnswer> {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'hpa-metrics-adapter' };
    if (this.token) {
      const token = this.token.current();
      headers.Authorization = `Bearer ${typeof token === 'string' ? token : await this.bearer(token)}`;
    }
    return new Promise((resolve, reject) => {
      const fail = (error: unknown) => reject(this.failure(error, signal));
      const req = request(
        {
          protocol: 'https:',
          hostname: this.base.hostname,
          port: this.base.port,
          path: pathAndQuery,
          method: 'GET',
          headers,
          agent: this.agent,
          signal,
        },
        (res: IncomingMessage) => {
          readBoundedBody(res, MAX_ANSWER_BYTES).then(
            (body) => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body }),
            fail,
          );
        },
      );
      req.once('error', fail);
      req.end();
    });
  }

  /** A token being read from its file: a failure to read it is the upstream's credentials failure. */
  private async bearer(reading: Promise<string>): Promise<string> {
    try {
      return await reading;
    } catch (error) {
      throw new UpstreamCallFailure(
        'credentials',
        `cannot read the token for it from ${this.config.tokenFile}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  private failure(error: unknown, signal: AbortSignal): UpstreamCallFailure {
    if (error instanceof UpstreamCallFailure) return error;
    if (error instanceof BodyTooLargeError) return new UpstreamCallFailure('too_large', `sent an ${error.message}`);
    if (signal.aborted) {
      return new UpstreamCallFailure(
        'timeout',
        signal.reason instanceof OwnTimeout
          ? `did not answer within its timeout of ${this.config.timeout} ms`
          : `did not answer before the request's deadline`,
        { cause: error },
      );
    }
    const code = (error as NodeJS.ErrnoException).code;
    return new UpstreamCallFailure(
      'unreachable',
      `cannot be reached at ${this.base.host}: ${code ?? ''}${code ? ' ' : ''}${(error as Error).message}`,
      { cause: error },
    );
  }
}

class OwnTimeout extends Error {}
