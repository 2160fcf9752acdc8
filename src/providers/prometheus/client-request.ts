import { readFile, stat } from 'node:fs/promises';
import { ApiError } from '../../api/errors.js';
import { percentDecoded } from '../../lib/text.js';

/** A request as it will be sent, for a signer to sign. */
export interface OutgoingRequest {
  method: 'GET' | 'POST';
  /** The full URL, query string included, exactly as sent. */
  url: URL;
  headers: Readonly<Record<string, string>>;
  body?: string;
}

export interface OutgoingRequestOptions {
  tokenFile?: string;
  headers?: Readonly<Record<string, string>>;
  /** POST sends every call as a form; GET sends a form POST only above `maxGetQueryBytes`. */
  verb?: 'GET' | 'POST';
  maxGetQueryBytes?: number;
  /** The request will be signed: its query string is written the way the signer canonicalises it. */
  signed: boolean;
}

const DEFAULT_MAX_GET_QUERY_BYTES = 4096;

/**
 * How one client writes its calls to `/api/v1/<endpoint>` under `base`: the path prefix kept,
 * the URL's user info sent as Basic authorization (never in the URL), the bearer token file
 * read when a call is made, and a GET that turns into a form POST when the query string grows
 * long (big `pod=~"a|b|…"` matchers get 414s from proxies).
 */
export function outgoingRequests(
  base: URL,
  shownUrl: string,
  options: OutgoingRequestOptions,
): (endpoint: string, params: URLSearchParams) => Promise<OutgoingRequest> {
  const prefix = base.pathname.replace(/\/+$/, '');
  const token = options.tokenFile ? new TokenFile(options.tokenFile) : undefined;
  const maxGet = options.maxGetQueryBytes ?? DEFAULT_MAX_GET_QUERY_BYTES;
  const userinfo = base.username ? basicCredentials(base, shownUrl) : undefined;
  return async (endpoint, params) => {
    // A signer canonicalises the query string the RFC 3986 way (%20, not '+'); sending it in that
    // form means the server reads exactly the parameters that were signed.
    const form = options.signed ? rfc3986Query(params) : params.toString();
    const post = options.verb === 'POST' || form.length > maxGet;
    const headers: Record<string, string> = {
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
    const url = new URL(base);
    url.username = '';
    url.password = '';
    url.pathname = `${prefix}/api/v1/${endpoint}`;
    url.search = post ? '' : form;
    return post ? { method: 'POST', url, headers, body: form } : { method: 'GET', url, headers };
  };
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
