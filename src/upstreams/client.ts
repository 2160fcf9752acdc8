import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { BodyTooLargeError, readBoundedBytes } from '../io/bounded-body.js';
import { ResponseBudgetError } from '../io/response-budget.js';
import { TimeoutDeadline } from '../lib/deadline.js';
import { retryingStaleSockets, staleSocketOr } from '../lib/stale-socket.js';
import type { UpstreamConfig } from './config.js';
import type { UpstreamAnswer } from './forwarding.js';
import { TokenFile } from './token-file.js';

export type UpstreamFailureKind = 'timeout' | 'unreachable' | 'too_large' | 'budget' | 'credentials' | 'garbage';

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

const TLS_RETRY_MS = 10_000;

/** Value lists are a few KiB; discovery of a big Prometheus setup a few MiB. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/**
 * HTTPS to one upstream over kept-alive connections, authenticated as the adapter itself (its
 * service-account token, or a client certificate). The caller's credentials never travel: the
 * request carries only the headers set here.
 */
export class UpstreamClient {
  private agent: Agent | undefined;
  private readonly base: URL;
  private readonly token: TokenFile | undefined;
  private lastTlsFailure: { failure: UpstreamCallFailure; at: number } | undefined;

  constructor(
    private readonly config: UpstreamConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.base = new URL(config.url);
    this.token = config.clientCertFile === undefined ? new TokenFile(config.tokenFile) : undefined;
  }

  /**
   * Reads the CA and client certificate files and builds the connection pool; every call does it
   * first if it has not succeeded yet. A missing file (a Secret not created yet, mounted optional)
   * fails this upstream's calls only, and is tried again at most every 10 s.
   */
  async connect(): Promise<Agent> {
    if (this.agent) return this.agent;
    const last = this.lastTlsFailure;
    if (last && this.now() - last.at < TLS_RETRY_MS) throw last.failure;
    const read = async (field: 'caFile' | 'clientCertFile' | 'clientKeyFile') => {
      const path = this.config[field];
      if (path === undefined) return undefined;
      try {
        return await readFile(path);
      } catch (error) {
        throw new UpstreamCallFailure('credentials', `cannot use its ${field} ${path}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    };
    try {
      const [ca, cert, key] = await Promise.all([read('caFile'), read('clientCertFile'), read('clientKeyFile')]);
      this.agent ??= new Agent({
        keepAlive: true,
        maxSockets: 64,
        maxFreeSockets: 16,
        rejectUnauthorized: !this.config.insecureSkipTLSVerify,
        ...(ca ? { ca } : {}),
        ...(cert && key ? { cert, key } : {}),
      });
      this.lastTlsFailure = undefined;
      return this.agent;
    } catch (error) {
      this.lastTlsFailure = { failure: error as UpstreamCallFailure, at: this.now() };
      throw error;
    }
  }

  get url(): string {
    return this.base.href;
  }

  /**
   * GET `pathAndQuery` as JSON within `timeout` and the caller's signal. Any status the upstream
   * answers is returned, its bytes held in the response budget until the caller releases them; a
   * 401 is retried once with the token read again (it may have rotated).
   */
  async get(pathAndQuery: string, signal: AbortSignal): Promise<UpstreamAnswer> {
    const deadline = new TimeoutDeadline(this.config.timeout, signal);
    // A kept-alive socket the upstream closed as idle as the GET went out on it: sent again.
    const send = () => retryingStaleSockets(() => this.send(pathAndQuery, deadline));
    try {
      const first = await send();
      if (first.status !== 401 || !this.token) return first;
      first.release();
      this.token.invalidate();
      return await send();
    } catch (error) {
      throw this.failure(error, deadline);
    } finally {
      deadline.dispose();
    }
  }

  close(): void {
    this.agent?.destroy();
  }

  private async send(pathAndQuery: string, deadline: TimeoutDeadline): Promise<UpstreamAnswer> {
    const agent = this.agent ?? (await this.connect());
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'hpa-metrics-adapter' };
    if (this.token) {
      const token = this.token.current();
      headers.Authorization = `Bearer ${typeof token === 'string' ? token : await this.bearer(token)}`;
    }
    return new Promise((resolve, reject) => {
      const req = request(
        {
          protocol: 'https:',
          hostname: this.base.hostname,
          port: this.base.port,
          path: pathAndQuery,
          method: 'GET',
          headers,
          agent,
          signal: deadline.signal,
        },
        (res: IncomingMessage) => {
          readBoundedBytes(res, MAX_ANSWER_BYTES).then(
            (held) =>
              resolve({
                status: res.statusCode ?? 0,
                contentType: res.headers['content-type'] ?? '',
                body: held.bytes,
                release: held.release,
              }),
            reject,
          );
        },
      );
      req.once('error', (error) => reject(staleSocketOr(req, error, deadline.signal)));
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

  private failure(error: unknown, deadline: TimeoutDeadline): UpstreamCallFailure {
    if (error instanceof UpstreamCallFailure) return error;
    if (error instanceof BodyTooLargeError) return new UpstreamCallFailure('too_large', `sent an ${error.message}`);
    if (error instanceof ResponseBudgetError)
      return new UpstreamCallFailure('budget', `could not be read: ${error.message}`);
    if (deadline.signal.aborted) {
      return new UpstreamCallFailure(
        'timeout',
        deadline.expired
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
