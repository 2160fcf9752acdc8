import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadServingCertificate } from '../../src/server/tls.js';
import { type AdapterRuntime, adapterEnv } from './adapter-runtime.js';
import { type ServerProcess, startServerProcess } from './processes.js';

export const MAIN_JS = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

const execFileAsync = promisify(execFile);

export interface CertificateFiles {
  certPath: string;
  keyPath: string;
}

/** A self-signed serving certificate in `dir`, made the way the adapter makes one for --cert-dir. */
export async function certificateIn(dir: string): Promise<CertificateFiles> {
  await loadServingCertificate({ certDir: dir });
  return { certPath: join(dir, 'apiserver.crt'), keyPath: join(dir, 'apiserver.key') };
}

export interface AdapterOptions {
  dir: string;
  configYaml: string;
  prometheusUrl: string;
  certificate: CertificateFiles;
  cpu?: number;
  /** Another build of the adapter; default this checkout's dist/main.js. */
  mainJs?: string;
  /** More flags for the adapter. */
  args?: readonly string[];
  /** Flags for node itself, e.g. --cpu-prof. */
  nodeArgs?: readonly string[];
  /** The Node it runs on; default the bench's, with the bench's environment. */
  runtime?: AdapterRuntime;
}

/** The built adapter (dist/main.js), standalone, serving HTTPS with the bench certificate. */
export async function startAdapterServer(options: AdapterOptions): Promise<ServerProcess> {
  const configPath = join(options.dir, 'adapter-config.yaml');
  await writeFile(configPath, options.configYaml);
  return startServerProcess(
    options.runtime?.node ?? process.execPath,
    [
      ...(options.nodeArgs ?? []),
      options.mainJs ?? MAIN_JS,
      '--standalone',
      '--secure-port=0',
      `--config=${configPath}`,
      `--prometheus-url=${options.prometheusUrl}`,
      `--tls-cert-file=${options.certificate.certPath}`,
      `--tls-private-key-file=${options.certificate.keyPath}`,
      ...(options.args ?? []),
    ],
    {
      ...(options.cpu === undefined ? {} : { cpu: options.cpu }),
      env: adapterEnv(options.runtime),
    },
  );
}

/** The PromQL the adapter runs for an external metric, as `hpa-metrics-adapter explain` prints it. */
export async function explainExternalPromql(
  configPath: string,
  prometheusUrl: string,
  metric: string,
  namespace: string,
  labelSelector: string,
): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [
    MAIN_JS,
    'explain',
    `--config=${configPath}`,
    `--prometheus-url=${prometheusUrl}`,
    '--external',
    `--namespace=${namespace}`,
    `--metric-selector=${labelSelector}`,
    metric,
  ]);
  const promql = /PromQL: +(.+)/.exec(stdout)?.[1]?.trim();
  if (!promql) throw new Error(`explain printed no PromQL:\n${stdout}`);
  return promql;
}

export interface Fetched {
  status: number;
  contentType: string;
  body: string;
}

const insecure = new Agent({ keepAlive: true, rejectUnauthorized: false });

/** GET over HTTPS without verifying the bench's self-signed certificate. */
export function httpsGet(url: string, agent: Agent = insecure): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    request(url, { agent }, (response) => readFetched(response, resolve, reject))
      .on('error', reject)
      .end();
  });
}

/** GET over plain HTTP (Prometheus) or HTTPS (everything else), whichever the URL says. */
export function httpsOrHttpGet(url: string): Promise<Fetched> {
  if (url.startsWith('https:')) return httpsGet(url);
  return new Promise((resolve, reject) => {
    httpRequest(url, (response) => readFetched(response, resolve, reject))
      .on('error', reject)
      .end();
  });
}

function readFetched(
  response: IncomingMessage,
  resolve: (fetched: Fetched) => void,
  reject: (error: Error) => void,
): void {
  let body = '';
  response.setEncoding('utf8').on('data', (chunk: string) => {
    body += chunk;
  });
  response.on('end', () =>
    resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type']), body }),
  );
  response.on('error', reject);
}

/**
 * The sum of every sample of `name` in a Prometheus text exposition whose labels include
 * `labels` (e.g. the adapter's /metrics).
 */
export function sumSamples(exposition: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length, line.lastIndexOf(' '));
    if (wanted.every((pair) => labelText.includes(pair))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** The adapter's own counters that the benchmarks report. */
export async function cacheCounters(baseUrl: string, agent?: Agent): Promise<Record<string, number>> {
  return countersIn((await httpsGet(`${baseUrl}/metrics`, agent)).body);
}

/**
 * What the adapter's event loop went through, from one scrape of its /metrics: the loop's delay
 * (perf_hooks monitorEventLoopDelay, which prom-client resets at every scrape, so this is the
 * delay since the scrape before) and the GC pause time so far, by kind. A request cannot be
 * answered faster than the loop gets to it: the delay is the adapter's share of a poll's latency
 * that its own CPU work caused, apart from the machine's.
 */
export interface LoopReading {
  loopDelayMs: { p50: number; p99: number; max: number };
  gcSeconds: { major: number; minor: number; incremental: number };
  counters: Record<string, number>;
}

export async function loopReading(baseUrl: string, agent?: Agent): Promise<LoopReading> {
  const { body } = await httpsGet(`${baseUrl}/metrics`, agent);
  const ms = (name: string) =>
    Math.round(sumSamples(body, `hpa_metrics_adapter_nodejs_eventloop_lag_${name}_seconds`) * 1e5) / 100;
  const gc = (kind: string) => sumSamples(body, 'hpa_metrics_adapter_nodejs_gc_duration_seconds_sum', { kind });
  return {
    loopDelayMs: { p50: ms('p50'), p99: ms('p99'), max: ms('max') },
    gcSeconds: { major: gc('major'), minor: gc('minor'), incremental: gc('incremental') },
    counters: countersIn(body),
  };
}

function countersIn(body: string): Record<string, number> {
  const requests = (result: string) =>
    sumSamples(body, 'hpa_metrics_adapter_cache_requests_total', { backend: 'prometheus', result });
  return {
    backendLoads: sumSamples(body, 'hpa_metrics_adapter_cache_backend_loads_total', { backend: 'prometheus' }),
    backendErrors: sumSamples(body, 'hpa_metrics_adapter_cache_backend_loads_total', {
      backend: 'prometheus',
      outcome: 'error',
    }),
    hits: requests('hit'),
    misses: requests('miss'),
    coalesced: requests('coalesced'),
    stale: requests('stale'),
    /** Expired values answered while every load slot was taken, and reloaded behind the answer. */
    staleWhileRevalidate: requests('stale_while_revalidate'),
    /** HPA-aware refresh's calls into the cache (each loads only when the value expires within its lead). */
    refreshes: requests('refresh'),
    evictions: sumSamples(body, 'hpa_metrics_adapter_cache_evictions_total', { backend: 'prometheus' }),
  };
}

/** Counter increases between two readings of cacheCounters. */
export function counterDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([key, value]) => [key, value - (before[key] ?? 0)]));
}
