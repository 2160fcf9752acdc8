import type { IncomingHttpHeaders } from 'node:http';
import { type Agent, request as httpsRequest } from 'node:https';

/**
 * Small HTTPS calls to a running adapter, for end-to-end tests that look at what users see:
 * the status, the JSON body, how long the answer took, and the adapter's own /metrics.
 */
export interface AdapterAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies and assert their shape
  body: any;
  text: string;
  /** From sending the request to the end of the answer. */
  ms: number;
}

export interface AdapterRequestOptions {
  /** The CA of the serving certificate; without it the certificate is not verified. */
  ca?: string;
  /** A client certificate (chain) and key, e.g. the front-proxy client's. */
  cert?: { chain: string; key: string };
  headers?: Record<string, string | string[]>;
  method?: string;
  /** Default false: a new connection per call. */
  agent?: Agent | false;
  /** Default 15 s; the call rejects after it. */
  timeoutMs?: number;
}

export function adapterRequest(
  port: number,
  path: string,
  options: AdapterRequestOptions = {},
): Promise<AdapterAnswer> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        agent: options.agent ?? false,
        timeout: timeoutMs,
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.ca ? { ca: options.ca } : { rejectUnauthorized: false }),
        ...(options.cert ? { cert: options.cert.chain, key: options.cert.key } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('error', reject);
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // health and /metrics answer plain text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, ms: performance.now() - started });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * One sample of the adapter's /metrics (Prometheus text format): the first series named `name`
 * whose labels include `labels`; undefined when there is none.
 */
export async function adapterMetric(
  port: number,
  name: string,
  labels: Record<string, string> = {},
  options: AdapterRequestOptions = {},
): Promise<number | undefined> {
  const answer = await adapterRequest(port, '/metrics', options);
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  return sampleOf(answer.text, name, labels);
}

export function sampleOf(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(/,(?=[a-zA-Z_][a-zA-Z0-9_]*=")/);
    if (wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return undefined;
}

/** Polls `check` every `intervalMs` until it returns a value that is not undefined; rejects after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 5000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
