import { createHash } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError } from '../api/errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, readBoundedText } from '../io/bounded-body.js';
import { TimeoutDeadline } from '../lib/deadline.js';
import { retryingStaleSockets, staleSocketOr } from '../lib/stale-socket.js';
import { clip } from '../lib/text.js';
import { KubeRequestError } from './types.js';

export interface KubeTransportOptions {
  /** Deadline for one call, connection to last byte. Default 5000 ms. */
  timeoutMs?: number;
  userAgent?: string;
  /** Larger answers are refused rather than buffered. Default 32 MiB. */
  maxResponseBytes?: number;
}

/** The verbs the adapter sends; PUT and PATCH carry a resourceVersion precondition (see leases.ts). */
export type KubeMethod = 'GET' | 'POST' | 'PUT' | 'PATCH';

export interface KubeResponse {
  status: number;
  body: unknown;
}

type TlsMaterial = Pick<
  https.RequestOptions,
  'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'servername'
>;

/**
 * JSON over HTTPS to the API server named by a KubeConfig. Credentials (tokens, exec
 * plugins, client certificates, CAs) are applied by client-node on every call, so rotated
 * tokens and certificates are picked up; the keep-alive agent is rebuilt only when the TLS
 * material actually changes, so steady traffic reuses connections.
 */
export class KubeTransport {
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly maxResponseBytes: number;
  private agent: { key: string; agent: http.Agent } | undefined;

  constructor(
    private readonly kubeConfig: KubeConfig,
    options: KubeTransportOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.userAgent = options.userAgent ?? 'hpa-metrics-adapter';
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /**
   * Answers any status; rejects only when no answer arrived (ApiError.unavailable). `accept`
   * picks the representation (e.g. the metadata-only PartialObjectMetadataList); `contentType`
   * the body's (a PATCH names its patch type, e.g. application/merge-patch+json).
   */
  async request(
    method: KubeMethod,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    accept = 'application/json',
    contentType = 'application/json',
  ): Promise<KubeResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const { what, options } = await this.prepare(method, path, accept, payload, contentType);
    const deadline = new TimeoutDeadline(this.timeoutMs, signal);
    try {
      return await retryingStaleSockets(() =>
        this.send({ ...options, signal: deadline.signal }, payload, deadline.signal),
      );
    } catch (error) {
      const reason = deadline.expired
        ? `timed out after ${this.timeoutMs} ms`
        : signal?.aborted
          ? 'request cancelled'
          : messageOf(error);
      throw unreachable(what, reason, error);
    } finally {
      deadline.dispose();
    }
  }

  /**
   * A long-lived GET (a watch): resolves with the response once its headers arrived (within
   * the call timeout), and leaves reading the body to the caller. The stream lives until the
   * server ends it, `signal` aborts it, or nothing arrives for `idleTimeoutMs`.
   */
  async stream(path: string, accept: string, signal: AbortSignal, idleTimeoutMs: number): Promise<IncomingMessage> {
    const { what, options } = await this.prepare('GET', path, accept, undefined);
    const send = options.protocol === 'http:' ? http.request : https.request;
    return new Promise((resolve, reject) => {
      const request = send({ ...options, signal }, (response) => {
        clearTimeout(headersDeadline);
        // The socket goes back to the keep-alive pool afterwards: leave it as it was found.
        const socket = response.socket;
        const onIdle = () => response.destroy(new Error(`no data for ${idleTimeoutMs} ms`));
        socket.setTimeout(idleTimeoutMs, onIdle);
        response.once('close', () => {
          socket.setTimeout(0);
          socket.removeListener('timeout', onIdle);
        });
        resolve(response);
      });
      const headersDeadline = setTimeout(
        () => request.destroy(new Error(`timed out after ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      request.on('error', (error) => {
        clearTimeout(headersDeadline);
        reject(unreachable(what, signal.aborted ? 'request cancelled' : messageOf(error), error));
      });
      request.end();
    });
  }

  private async prepare(
    method: KubeMethod,
    path: string,
    accept: string,
    payload: Buffer | undefined,
    contentType = 'application/json',
  ): Promise<{ what: string; options: https.RequestOptions }> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw ApiError.unavailable('kubernetes API unreachable: the kubeconfig has no current cluster');
    const base = new URL(cluster.server);
    const what = `${method} ${base.origin}${path}`;
    const options: https.RequestOptions = {
      method,
      headers: {
        Accept: accept,
        'User-Agent': this.userAgent,
        ...(payload ? { 'Content-Type': contentType, 'Content-Length': String(payload.length) } : {}),
      },
    };
    try {
      await this.kubeConfig.applyToHTTPSOptions(options);
    } catch (error) {
      throw unreachable(what, `cannot load credentials from the kubeconfig: ${messageOf(error)}`, error);
    }
    return {
      what,
      options: {
        method,
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: base.port || (base.protocol === 'http:' ? 80 : 443),
        path: base.pathname.replace(/\/+$/, '') + path,
        headers: options.headers,
        auth: options.auth,
        agent: cluster.proxyUrl ? options.agent : this.agentFor(base.protocol, options),
      },
    };
  }

  close(): void {
    this.agent?.agent.destroy();
    this.agent = undefined;
  }

  private send(options: https.RequestOptions, payload: Buffer | undefined, signal: AbortSignal): Promise<KubeResponse> {
    const send = options.protocol === 'http:' ? http.request : https.request;
    return new Promise((resolve, reject) => {
      const request = send(options, (response) => {
        readBoundedText(response, this.maxResponseBytes).then((text) => {
          if (signal.aborted) return reject(signal.reason);
          const status = response.statusCode ?? 0;
          try {
            resolve({ status, body: text.length === 0 ? undefined : JSON.parse(text) });
          } catch {
            reject(new Error(`answered ${status} with a body that is not JSON: ${clip(text, 200)}`));
          }
        }, reject);
      });
      // A kept-alive socket the API server closed as idle just as a request went out on it: the
      // request never reached the server, so it is sent again (writes carry a resourceVersion
      // precondition, so even a doubtful resend could not apply twice).
      request.on('error', (error: NodeJS.ErrnoException) => reject(staleSocketOr(request, error, signal)));
      request.end(payload);
    });
  }

  private agentFor(protocol: string, material: TlsMaterial): http.Agent {
    const tls: TlsMaterial = {
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      pfx: material.pfx,
      passphrase: material.passphrase,
      rejectUnauthorized: material.rejectUnauthorized,
      servername: material.servername,
    };
    const key = createHash('sha256').update(protocol).update(JSON.stringify(tls)).digest('hex');
    if (this.agent?.key === key) return this.agent.agent;
    this.agent?.agent.destroy();
    const defined = Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined));
    const agent =
      protocol === 'http:'
        ? new http.Agent({ keepAlive: true, maxSockets: 32 })
        : new https.Agent({ keepAlive: true, maxSockets: 32, ...defined });
    this.agent = { key, agent };
    return agent;
  }
}

/** A non-2xx answer as ApiError.unavailable, quoting the API server's Status message. */
export function statusError(method: string, path: string, response: KubeResponse): ApiError {
  const status = response.body as { message?: unknown; reason?: unknown } | undefined;
  const message = typeof status?.message === 'string' ? status.message : '(no Status message)';
  const reason = typeof status?.reason === 'string' ? status.reason : undefined;
  const text = `kubernetes API answered ${response.status}${reason ? ` ${reason}` : ''} to ${method} ${path}: ${message}`;
  return ApiError.unavailable(text, new KubeRequestError(text, response.status, reason));
}

function unreachable(what: string, reason: string, cause: unknown): ApiError {
  const text = `kubernetes API unreachable: ${what}: ${reason}`;
  const error = new KubeRequestError(text);
  error.cause = cause;
  return ApiError.unavailable(text, error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
