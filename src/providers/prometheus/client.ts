import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { ApiError } from '../../api/errors.js';
import { BodyTooLargeError, DEFAULT_MAX_RESPONSE_BYTES, readBoundedText } from '../../io/bounded-body.js';
import { TimeoutDeadline } from '../../lib/deadline.js';
import { retryingStaleSockets, staleSocketOr } from '../../lib/stale-socket.js';
import { clip, percentDecoded } from '../../lib/text.js';

/**
 * The Prometheus HTTP API client: `/api/v1/query` and `/api/v1/series` over node:http(s) with
 * keep-alive, a path prefix, a deadline on every call, a bearer token file re-read when it
 * changes (projected service-account tokens rotate), CA and client-certificate TLS, extra
 * headers, an optional request signer (SigV4 for Amazon Managed Service for Prometheus, see
 * sigv4.ts), and GET that turns into a form POST when the query string grows long (big
 * `pod=~"a|b|…"` matchers get 414s from proxies).
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

/** A request as it will be sent, for a signer to sign. */
export interface OutgoingRequest {
  method: 'GET' | 'POST';
  /** The full URL, query string included, exactly as sent. */
  url: URL;
  headers: Readonly<Record<string, string>>;
  body?: string;
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

export interface PromSample {
  labels: Record<string, string>;
  value: number;
  timestamp: Date;
}

export interface QueryResult {
  resultType: 'vector' | 'scalar';
  samples: PromSample[];
}

export interface PrometheusClient {
  /** The URL for messages, without credentials. */
  readonly url: string;
  query(promql: string, time: Date, signal?: AbortSignal): Promise<QueryResult>;
  series(match: string, start: Date, end: Date, signal?: AbortSignal): Promise<Record<string, string>[]>;
  close(): void;
}

const DEFAULT_MAX_GET_QUERY_BYTES = 4096;
const QUOTED_QUERY_LIMIT = 300;

type Exchanged = { status: number; statusText: string; body: string };

export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const base = new URL(options.url);
  const shownUrl = redactUrl(base);
  const prefix = base.pathname.replace(/\/+$/, '');
  const secure = base.protocol === 'https:';
  if (!secure && base.protocol !== 'http:') throw new Error(`prometheus URL ${shownUrl}: expected http:// or https://`);
  const agent = keepAliveAgent(secure, options);
  const token = options.tokenFile ? new TokenFile(options.tokenFile) : undefined;
  const maxGet = options.maxGetQueryBytes ?? DEFAULT_MAX_GET_QUERY_BYTES;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const authHint = options.signer
    ? ` (check ${options.signer.description}: the workspace's region and service, and the credentials' IAM permissions)`
    : ' (check --prometheus-token-file / --prometheus-header)';
  const userinfo = base.username ? basicCredentials(base, shownUrl) : undefined;

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
    // A signer canonicalises the query string the RFC 3986 way (%20, not '+'); sending it in that
    // form means the server reads exactly the parameters that were signed.
    const form = options.signer ? rfc3986Query(params) : params.toString();
    const post = options.verb === 'POST' || form.length > maxGet;
    let headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'hpa-metrics-adapter',
      ...options.headers,
    };
    if (userinfo) headers.authorization = userinfo;
    if (token) headers.authorization = `Bearer ${await token.read()}`;
    if (post) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(form));
    }
    const target = new URL(base);
    target.username = '';
    target.password = '';
    target.pathname = `${prefix}/api/v1/${endpoint}`;
    target.search = post ? '' : form;
    const method = post ? 'POST' : 'GET';
    const body = post ? form : undefined;
    const deadline = new TimeoutDeadline(options.timeoutMs, signal);
    let response: Exchanged;
    try {
      if (options.signer) {
        const request = { method, url: target, headers, ...(body !== undefined ? { body } : {}) } as const;
        headers = await options.signer.sign(request, deadline.signal);
      }
      // After a Prometheus restart every pooled socket is stale; the calls are idempotent.
      response = await retryingStaleSockets(() =>
        exchange(target, { method, headers, agent, signal: deadline.signal }, body, { secure, maxResponseBytes }),
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
function exchange(
  target: URL,
  requestOptions: http.RequestOptions,
  body: string | undefined,
  reading: Reading,
): Promise<Exchanged> {
  return new Promise((resolve, reject) => {
    const request = (reading.secure ? https : http).request(target, requestOptions, (response) => {
      readBoundedText(response, reading.maxResponseBytes).then(
        (body) =>
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? '',
            body,
          }),
        reject,
      );
    });
    request.on('error', (error: NodeJS.ErrnoException) =>
      reject(staleSocketOr(request, error, requestOptions.signal ?? undefined)),
    );
    request.end(body);
  });
}

interface ApiEnvelope {
  status?: unknown;
  data?: unknown;
  errorType?: unknown;
  error?: unknown;
}

function interpret(response: Exchanged, query: string, url: string, authHint: string): unknown {
  let envelope: ApiEnvelope | undefined;
  try {
    const parsed: unknown = JSON.parse(response.body);
    if (typeof parsed === 'object' && parsed !== null) envelope = parsed as ApiEnvelope;
  } catch {
    envelope = undefined;
  }
  if (response.status >= 200 && response.status < 300 && envelope?.status === 'success') return envelope.data;
  const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  if (envelope === undefined || typeof envelope.error !== 'string') {
    const hint = response.status === 401 || response.status === 403 ? authHint : '';
    throw ApiError.unavailable(
      `prometheus backend at ${url} answered ${status}${hint}: ${clip(response.body.trim(), 200)}`,
    );
  }
  const detail = `${envelope.errorType ?? 'error'}: ${envelope.error}`;
  if (response.status === 400 || response.status === 422) {
    throw ApiError.badRequest(`prometheus backend rejected the query ${clip(query, QUOTED_QUERY_LIMIT)}: ${detail}`);
  }
  throw ApiError.unavailable(
    `prometheus backend at ${url} failed the query ${clip(query, QUOTED_QUERY_LIMIT)} (${status}): ${detail}`,
  );
}

/** The `data` of a /api/v1/query answer; `url` names the server in errors. */
export function parseQueryData(data: unknown, url: string): QueryResult {
  const record = typeof data === 'object' && data !== null ? (data as { resultType?: unknown; result?: unknown }) : {};
  if (record.resultType === 'vector' && Array.isArray(record.result)) {
    return { resultType: 'vector', samples: record.result.map((item: unknown, i) => vectorSample(item, i, url)) };
  }
  if (record.resultType === 'scalar' && Array.isArray(record.result)) {
    return { resultType: 'scalar', samples: [{ labels: {}, ...pointOf(record.result, 'data.result', url) }] };
  }
  throw ApiError.badRequest(
    `prometheus backend at ${url} answered with a ${String(record.resultType)} result; metricsQuery must produce an instant vector`,
  );
}

/**
 * A malformed sample is the backend failing, not "no data": dropping it would turn into a 404
 * that the cache remembers over the last good value, and a timestamp no Date can hold would
 * become a 500 when the answer is rendered.
 */
function vectorSample(item: unknown, index: number, url: string): PromSample {
  const field = `data.result[${index}]`;
  if (typeof item !== 'object' || item === null) throw malformed(url, field, 'is not an object');
  const { metric, value } = item as { metric?: unknown; value?: unknown };
  if (!isStringRecord(metric)) throw malformed(url, `${field}.metric`, 'is not a map of label names to strings');
  return { labels: metric, ...pointOf(value, `${field}.value`, url) };
}

/** Prometheus writes sample values as Go floats: decimal or exponent notation, NaN and ±Inf. */
const GO_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|NaN)$/;
/** RFC 3339 renders years 0000–9999 only. */
const MAX_TIMESTAMP_SECONDS = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000;

function pointOf(pair: unknown, field: string, url: string): { value: number; timestamp: Date } {
  if (!Array.isArray(pair) || pair.length !== 2) throw malformed(url, field, 'is not a [timestamp, "value"] pair');
  const [time, text] = pair as [unknown, unknown];
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0 || time > MAX_TIMESTAMP_SECONDS)
    throw malformed(url, `${field}[0]`, `timestamp ${clip(JSON.stringify(time) ?? String(time), 40)} is not a time`);
  if (typeof text !== 'string' || !GO_FLOAT.test(text))
    throw malformed(url, `${field}[1]`, `value ${clip(JSON.stringify(text) ?? String(text), 40)} is not a number`);
  return { value: Number(text.replace(/Inf$/, 'Infinity')), timestamp: new Date(Math.round(time * 1000)) };
}

function malformed(url: string, field: string, problem: string): ApiError {
  return ApiError.unavailable(`prometheus backend at ${url} answered a malformed sample: ${field} ${problem}`);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
}

/** Prometheus takes RFC 3339 or Unix seconds; seconds with milliseconds keep the clock's precision. */
function seconds(time: Date): string {
  return (time.getTime() / 1000).toFixed(3);
}

/** `a=b&c=d` with every byte but RFC 3986's unreserved ones percent-encoded, as SigV4 canonicalises it. */
function rfc3986Query(params: URLSearchParams): string {
  const strict = (text: string) =>
    encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return [...params].map(([name, value]) => `${strict(name)}=${strict(value)}`).join('&');
}

/** The Basic authorization of the URL's user info; a malformed %-escape there is an Error naming the URL. */
function basicCredentials(url: URL, shownUrl: string): string {
  const user = percentDecoded(url.username);
  const password = percentDecoded(url.password);
  if (user === undefined || password === undefined) {
    throw new Error(`prometheus URL ${shownUrl}: the user name or password has a malformed %-escape`);
  }
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export function redactUrl(url: URL): string {
  const copy = new URL(url);
  if (copy.password) copy.password = '***';
  return copy.toString().replace(/\/$/, '');
}

/** A bearer token file, re-read only when its size or modification time changes. */
class TokenFile {
  private cached: { mtimeMs: number; size: number; token: string } | undefined;

  constructor(private readonly path: string) {}

  async read(): Promise<string> {
    let info: { mtimeMs: number; size: number };
    try {
      info = await stat(this.path);
      if (this.cached && this.cached.mtimeMs === info.mtimeMs && this.cached.size === info.size)
        return this.cached.token;
      const token = (await readFile(this.path, 'utf8')).trim();
      this.cached = { mtimeMs: info.mtimeMs, size: info.size, token };
      return token;
    } catch (error) {
      if (this.cached) return this.cached.token;
      throw ApiError.unavailable(
        `prometheus bearer token file ${this.path} cannot be read: ${(error as Error).message}`,
        error,
      );
    }
  }
}
