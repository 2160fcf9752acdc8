import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { ApiError } from '../../api/errors.js';
import { BodyTooLargeError, DEFAULT_MAX_RESPONSE_BYTES, readBoundedJson } from '../../io/bounded-body.js';
import { TimeoutDeadline } from '../../lib/deadline.js';
import { retryingStaleSockets, staleSocketOr } from '../../lib/stale-socket.js';
import { type HttpAnswer, interpret, isStringRecord, parseQueryData, type QueryResult } from './client-answer.js';
import { type OutgoingRequest, outgoingRequests } from './client-request.js';

export type { PromSample, QueryResult } from './client-answer.js';
export type { OutgoingRequest } from './client-request.js';

/**
 * The Prometheus HTTP API client: `/api/v1/query` and `/api/v1/series` over node:http(s) with
 * keep-alive, a path prefix, a deadline on every call, a bearer token file re-read when it
 * changes (projected service-account tokens rotate), CA and client-certificate TLS, extra
 * headers, an optional request signer (SigV4 for Amazon Managed Service for Prometheus, see
 * sigv4.ts), and GET that turns into a form POST when the query string grows long (big
 * `pod=~"a|b|…"` matchers get 414s from proxies). The request is written in client-request.ts,
 * the answer read in client-answer.ts.
 */
export interface PrometheusClientOptions {
  /** Base URL including any path prefix, e.g. `https://thanos.example/prometheus`. */
  url: string;
  timeoutMs: number;
  tokenFile?: string;
  caFile?: string;
  clientCert?: string;
  clientKey?: string;
  headers?: Readonly<Record<string, string>>;
  /** POST sends every call as a form; GET sends a form POST only above `maxGetQueryBytes`. */
  verb?: 'GET' | 'POST';
  maxGetQueryBytes?: number;
  /** Larger answers are cut off and the call fails (503 naming the limit). Default 32 MiB. */
  maxResponseBytes?: number;
  /** Signs every request (GET and POST) once it is complete; its headers replace the request's. */
  signer?: RequestSigner;
  /** Called once per HTTP call, for the backend's metrics. */
  observe?: (endpoint: 'query' | 'series', outcome: string, seconds: number) => void;
}

export interface RequestSigner {
  /** Names the signing in messages, e.g. `SigV4 (region eu-west-1, service aps)`. */
  readonly description: string;
  /**
   * The request's headers with the signature's added; fails with an ApiError (503) naming the
   * cause, and gives up when `signal` aborts.
   */
  sign(request: OutgoingRequest, signal: AbortSignal): Promise<Record<string, string>>;
}

export interface PrometheusClient {
  /** The URL for messages, without credentials. */
  readonly url: string;
  query(promql: string, time: Date, signal?: AbortSignal): Promise<QueryResult>;
  series(match: string, start: Date, end: Date, signal?: AbortSignal): Promise<Record<string, string>[]>;
  close(): void;
}

export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const base = new URL(options.url);
  const shownUrl = redactUrl(base);
  const secure = base.protocol === 'https:';
  if (!secure && base.protocol !== 'http:') throw new Error(`prometheus URL ${shownUrl}: expected http:// or https://`);
  const agent = keepAliveAgent(secure, options);
  const outgoing = outgoingRequests(base, shownUrl, { ...options, signed: options.signer !== undefined });
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const authHint = options.signer
    ? ` (check ${options.signer.description}: the workspace's region and service, and the credentials' IAM permissions)`
    : ' (check --prometheus-token-file / --prometheus-header)';

  async function call(endpoint: 'query' | 'series', params: URLSearchParams, signal?: AbortSignal): Promise<unknown> {
    const started = performance.now();
    let outcome = 'error';
    try {
      const result = await send(endpoint, params, signal);
      outcome = 'success';
      return result;
    } catch (error) {
      if (error instanceof ApiError) outcome = error.reason === 'BadRequest' ? 'rejected' : 'unavailable';
      else outcome = 'aborted';
      throw error;
    } finally {
      options.observe?.(endpoint, outcome, (performance.now() - started) / 1000);
    }
  }

  async function send(endpoint: 'query' | 'series', params: URLSearchParams, signal?: AbortSignal): Promise<unknown> {
    const request = await outgoing(endpoint, params);
    let headers = request.headers;
    const deadline = new TimeoutDeadline(options.timeoutMs, signal);
    let response: HttpAnswer;
    try {
      if (options.signer) headers = await options.signer.sign(request, deadline.signal);
      // After a Prometheus restart every pooled socket is stale; the calls are idempotent.
      response = await retryingStaleSockets(() =>
        exchange(request, { headers, agent, signal: deadline.signal }, { secure, maxResponseBytes }),
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      throw transportFailure(error, { shownUrl, endpoint, timeoutMs: options.timeoutMs, expired: deadline.expired });
    } finally {
      deadline.dispose();
    }
    return interpret(response, params.get('query') ?? params.get('match[]') ?? '', shownUrl, authHint);
  }

  return {
    url: shownUrl,
    async query(promql, time, signal) {
      const params = new URLSearchParams({ query: promql, time: seconds(time) });
      return parseQueryData(await call('query', params, signal), shownUrl);
    },
    async series(match, start, end, signal) {
      const params = new URLSearchParams({ 'match[]': match, start: seconds(start), end: seconds(end) });
      const data = await call('series', params, signal);
      if (!Array.isArray(data))
        throw ApiError.unavailable(`prometheus backend at ${shownUrl} answered /api/v1/series with no series list`);
      return data.filter(isStringRecord);
    },
    close() {
      agent.destroy();
    },
  };
}

/** The pool every call of one client shares; CA and client certificate files are read once, here. */
function keepAliveAgent(secure: boolean, options: PrometheusClientOptions): http.Agent {
  return secure
    ? new https.Agent({
        keepAlive: true,
        ca: readPem('--prometheus-ca-file', options.caFile),
        cert: readPem('--prometheus-client-cert', options.clientCert),
        key: readPem('--prometheus-client-key', options.clientKey),
      })
    : new http.Agent({ keepAlive: true });
}

/** A call that got no answer (or one too large), as the 503 that names why. */
function transportFailure(
  error: unknown,
  call: { shownUrl: string; endpoint: string; timeoutMs: number; expired: boolean },
): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof BodyTooLargeError)
    return ApiError.unavailable(
      `prometheus backend at ${call.shownUrl} sent a ${call.endpoint} ${error.message} (maxResponseBytes); the answer was dropped`,
      error,
    );
  if (call.expired)
    return ApiError.unavailable(
      `prometheus backend at ${call.shownUrl} did not answer within ${call.timeoutMs} ms`,
      error,
    );
  return ApiError.unavailable(
    `prometheus backend at ${call.shownUrl} is unreachable: ${(error as Error).message}`,
    error,
  );
}

interface Reading {
  secure: boolean;
  maxResponseBytes: number;
}

function readPem(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`${flag} ${path}: cannot read: ${(error as Error).message}`);
  }
}

/** One HTTP exchange; a stale kept-alive socket fails it with a StaleSocketError. */
function exchange(sent: OutgoingRequest, requestOptions: http.RequestOptions, reading: Reading): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = (reading.secure ? https : http).request(
      sent.url,
      { ...requestOptions, method: sent.method },
      (response) => {
        readBoundedJson(response, reading.maxResponseBytes).then(
          (body) =>
            resolve({
              status: response.statusCode ?? 0,
              statusText: response.statusMessage ?? '',
              json: body.value,
              head: body.head,
            }),
          reject,
        );
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      reject(staleSocketOr(request, error, requestOptions.signal ?? undefined)),
    );
    request.end(sent.body);
  });
}

/** Prometheus takes RFC 3339 or Unix seconds; seconds with milliseconds keep the clock's precision. */
function seconds(time: Date): string {
  return (time.getTime() / 1000).toFixed(3);
}

export function redactUrl(url: URL): string {
  const copy = new URL(url);
  if (copy.password) copy.password = '***';
  return copy.toString().replace(/\/$/, '');
}
