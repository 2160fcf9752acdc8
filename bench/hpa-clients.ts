import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { gauge, type SeriesSpec, startPrometheus } from '../test/support/prometheus-server.js';
import {
  type CertificateFiles,
  certificateIn,
  counterDelta,
  type LoopReading,
  loopReading,
  startAdapterServer,
} from './support/adapter.js';
import type { AdapterRuntime } from './support/adapter-runtime.js';
import { cpuSeconds, LOAD_CPU, pinHelperThreads, pinRunningProcess, SERVER_CPU } from './support/processes.js';
import { percentile, round, sortedCopy } from './support/stats.js';

/**
 * (b) 10,000 HPAs on one adapter process: each asks for its own external metric (its own label
 * selector, so its own PromQL and cache key) once per HPA sync period, the requests spread evenly
 * (≈ 667 req/s for 10,000 keys every 15 s), against a real Prometheus holding one series per key.
 * The first period fills the cache (every request a miss); the measured part follows it, with the
 * cache's default settings (ttl 20 s, refresh-ahead in the last half, 10,000 entries). The adapter
 * runs on CPU 0 alone, Prometheus beside the load generator on CPU 1. Beside the client-observed
 * latencies it reports the adapter's event-loop delay and GC pauses over the measured part, and the
 * load generator's own loop delay: a slow poll is the adapter's only where its loop was late.
 */

export const CONFIG = `
externalRules:
- seriesQuery: '{__name__="broker_queue_depth",queue!=""}'
  name: {as: queue_depth}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`;
const PATH = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth';
const TICK_MS = 5;

export interface HpaClientsOptions {
  keys: number;
  periodSeconds: number;
  /** Measured time after the first period. */
  measureSeconds: number;
  /** Another build's dist/main.js, measured the same way after this one, as the baseline. */
  compareMainJs?: string;
  /** Where each adapter writes a V8 CPU profile (node --cpu-prof) when it stops. */
  cpuProfileDir?: string;
  /**
   * 'apart': the adapter's helper threads (V8's parallel GC among them) run on the load
   * generator's CPU, its main thread alone on CPU 0, as in a cluster where the Deployment sets no
   * CPU limit; default 'with-main', every thread on CPU 0 (one core for everything).
   */
  helperThreads?: 'with-main' | 'apart';
  /** The Node the adapter runs on (both builds); default the bench's own. */
  runtime?: AdapterRuntime;
}

export interface PhaseResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  failures: number;
  /** Failed requests by HTTP status, or by error code when no answer came. */
  failuresBy?: Record<string, number>;
  /** The load generator's own event-loop delay meanwhile: a late client adds its lateness to every latency it measures. */
  clientLoopDelayMs: { p99: number; max: number };
  /** The first failure of each kind: the Status message the adapter gave (which 404 it was), or the error. */
  firstFailures?: Record<string, string>;
}

export interface HpaClientsResult {
  keys: number;
  periodSeconds: number;
  /** The Node the adapter ran on, and with which NODE_OPTIONS. */
  adapterNode: string;
  /** The first period, which loads every key once. */
  fill: PhaseResult;
  measured: PhaseResult & { seconds: number };
  /** The adapter's own counters over the measured part. */
  cache: Record<string, number>;
  backendCallsPerMinute: number;
  /** One load per key per period: what a TTL equal to the period costs at most. */
  expectedBackendCallsPerMinute: number;
  /** With helperThreads 'apart': how many of the adapter's threads were moved to the load generator's CPU. */
  helperThreadsMoved?: number;
  /** Share of one CPU each server used over the measured part (the adapter is pinned to one). */
  cpuPercent: { adapter?: number; prometheus?: number };
  /** The adapter's CPU time per request over the measured part (the background refreshes included). */
  adapterCpuMsPerRequest?: number;
  /**
   * The adapter's event-loop delay over the measured part, and its GC pauses then (ms): what of
   * the client-observed latency the adapter's own work caused, apart from the machine's.
   */
  adapterLoop: { delayMs: LoopReading['loopDelayMs']; gcMs: LoopReading['gcSeconds'] };
  /** The same for `compareMainJs`, and this build ÷ it. */
  baseline?: HpaClientsResult & { build: string };
  ratios?: { adapterCpuPerRequest: number; p99: number; backendCallsPerMinute: number };
}

export async function runHpaClientsBench(options: HpaClientsOptions): Promise<HpaClientsResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-hpa-clients-'));
  const prometheus = await startPrometheus({ series: queueDepthSeries(options.keys) });
  // Prometheus answers every poll's refresh (a third of a core at 10,000 HPAs): on the adapter's CPU
  // its threads, woken by each query, preempted the adapter mid-request, a delay that is the
  // machine's, not the adapter's. In a cluster it runs elsewhere: here it shares the load generator's CPU.
  pinRunningProcess(prometheus.pid, LOAD_CPU);
  const agent = new Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  try {
    const certificate = await certificateIn(join(dir, 'certs'));
    const measure = (mainJs?: string) =>
      measureBuild(options, { dir, prometheus, agent, certificate, ...(mainJs ? { mainJs } : {}) });
    const result = await measure();
    if (!options.compareMainJs) return result;
    const baseline = { ...(await measure(options.compareMainJs)), build: options.compareMainJs };
    const quotient = (value: number | undefined, base: number | undefined) =>
      value === undefined || !base ? 0 : round(value / base, 2);
    return {
      ...result,
      baseline,
      ratios: {
        adapterCpuPerRequest: quotient(result.adapterCpuMsPerRequest, baseline.adapterCpuMsPerRequest),
        p99: quotient(result.measured.p99Ms, baseline.measured.p99Ms),
        backendCallsPerMinute: quotient(result.backendCallsPerMinute, baseline.backendCallsPerMinute),
      },
    };
  } finally {
    agent.destroy();
    await prometheus.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureBuild(
  options: HpaClientsOptions,
  shared: {
    dir: string;
    prometheus: { url: string; pid: number | undefined };
    agent: Agent;
    certificate: CertificateFiles;
    mainJs?: string;
  },
): Promise<HpaClientsResult> {
  const { dir, prometheus, agent, certificate } = shared;
  const adapter = await startAdapterServer({
    dir,
    configYaml: CONFIG,
    prometheusUrl: prometheus.url,
    certificate,
    cpu: SERVER_CPU,
    args: QUEUE_DEPTH_DISCOVERY_ARGS,
    ...(shared.mainJs ? { mainJs: shared.mainJs } : {}),
    ...(options.runtime ? { runtime: options.runtime } : {}),
    ...(options.cpuProfileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] } : {}),
  });
  try {
    const base = `https://127.0.0.1:${adapter.port}`;
    const url = (key: number) => `${base}${PATH}?labelSelector=${encodeURIComponent(`queue=${queueName(key)}`)}`;
    const intervalMs = (options.periodSeconds * 1000) / options.keys;
    const fill = await sendEvenly(options.keys, intervalMs, 0, (n) => url(n % options.keys), agent);
    // After the fill, when every thread the adapter starts has started.
    const helpersMoved = options.helperThreads === 'apart' ? pinHelperThreads(adapter.child.pid, LOAD_CPU) : 0;
    // This scrape also restarts the adapter's event-loop delay histogram (prom-client resets it at each).
    const before = await loopReading(base);
    const cpuBefore = { adapter: cpuSeconds(adapter.child.pid), prometheus: cpuSeconds(prometheus.pid) };
    const measuredCount = Math.round((options.measureSeconds * 1000) / intervalMs);
    const measured = await sendEvenly(measuredCount, intervalMs, options.keys, (n) => url(n % options.keys), agent);
    const busy = (now: number | undefined, then: number | undefined) =>
      now === undefined || then === undefined ? undefined : round((100 * (now - then)) / options.measureSeconds, 0);
    const adapterCpu = cpuSeconds(adapter.child.pid);
    const cpuPercent = {
      adapter: busy(adapterCpu, cpuBefore.adapter),
      prometheus: busy(cpuSeconds(prometheus.pid), cpuBefore.prometheus),
    };
    const after = await loopReading(base);
    const cache = counterDelta(before.counters, after.counters);
    const gcMs = (kind: keyof LoopReading['gcSeconds']) =>
      round((after.gcSeconds[kind] - before.gcSeconds[kind]) * 1000, 0);
    return {
      adapterLoop: {
        delayMs: after.loopDelayMs,
        gcMs: { major: gcMs('major'), minor: gcMs('minor'), incremental: gcMs('incremental') },
      },
      ...(adapterCpu !== undefined && cpuBefore.adapter !== undefined
        ? { adapterCpuMsPerRequest: round(((adapterCpu - cpuBefore.adapter) * 1000) / measuredCount, 3) }
        : {}),
      keys: options.keys,
      periodSeconds: options.periodSeconds,
      adapterNode: options.runtime?.label ?? `node-${process.versions.node}`,
      fill,
      measured: { ...measured, seconds: options.measureSeconds },
      cache,
      backendCallsPerMinute: round(((cache.backendLoads ?? 0) * 60) / options.measureSeconds, 0),
      expectedBackendCallsPerMinute: round((options.keys * 60) / options.periodSeconds, 0),
      cpuPercent,
      ...(options.helperThreads === 'apart' ? { helperThreadsMoved: helpersMoved } : {}),
    };
  } finally {
    await adapter.stop();
  }
}

/** Key i's series: a gauge of value i, sampled every 4 min from 20 min ago to an hour ahead. */
export function queueDepthSeries(keys: number): SeriesSpec[] {
  const now = Math.floor(Date.now() / 1000);
  // Sparse samples (every 4 min, inside Prometheus's 5 min lookback) keep 10,000 series quick to write.
  const range = { end: now + 3600, seconds: 4800, step: 240 };
  return Array.from({ length: keys }, (_, i) =>
    gauge('broker_queue_depth', { namespace: 'default', queue: queueName(i) }, i, range),
  );
}

/**
 * Series discovery looks back 10 min, past the samples' 4 min spacing. At its default (the 60 s
 * relist interval) a relist whose window fell between the last sample of one 2-hour TSDB block
 * and the first of the next found no series (Prometheus's /api/v1/series answers only series
 * with a chunk in the window), so queue_depth left discovery and every poll was a 404 until a
 * relist found it again: a run started in the minutes before an even UTC hour failed that way.
 */
export const QUEUE_DEPTH_DISCOVERY_ARGS: readonly string[] = ['--metrics-max-age=10m'];

export function queueName(i: number): string {
  return `q-${String(i).padStart(5, '0')}`;
}

/**
 * Sends `count` GETs, request n at n × intervalMs from the start (n counted from `firstIndex`,
 * which picks the key), whether or not earlier ones have answered, as independent HPAs would.
 * `headers` go with every request (the aggregator's X-Remote-User in cluster mode).
 */
export async function sendEvenly(
  count: number,
  intervalMs: number,
  firstIndex: number,
  urlOf: (n: number) => string,
  agent: Agent,
  headers: Record<string, string> = {},
): Promise<PhaseResult> {
  const latencies: number[] = [];
  let failures = 0;
  const failuresBy: Record<string, number> = {};
  const firstFailures: Record<string, string> = {};
  const fail = (reason: string, message: string) => {
    failures++;
    failuresBy[reason] = (failuresBy[reason] ?? 0) + 1;
    firstFailures[reason] ??= message;
  };
  let sent = 0;
  const pending: Promise<void>[] = [];
  const clientLoop = monitorEventLoopDelay({ resolution: 10 });
  clientLoop.enable();
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(count, Math.floor((performance.now() - started) / intervalMs) + 1);
      for (; sent < due; sent++) {
        const sentAt = performance.now();
        pending.push(
          get(urlOf(firstIndex + sent), agent, headers).then(
            ({ status, failure }) => {
              if (status === 200) latencies.push(performance.now() - sentAt);
              else fail(String(status), failure);
            },
            (error: NodeJS.ErrnoException) => fail(error.code ?? error.message, error.message),
          ),
        );
      }
      if (sent >= count) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  await Promise.all(pending);
  clientLoop.disable();
  const seconds = (performance.now() - started) / 1000;
  const sorted = sortedCopy(latencies);
  return {
    requests: count,
    requestsPerSecond: round(count / seconds, 0),
    p50Ms: round(percentile(sorted, 0.5), 2),
    p99Ms: round(percentile(sorted, 0.99), 2),
    maxMs: round(sorted[sorted.length - 1] ?? 0, 2),
    failures,
    ...(failures > 0 ? { failuresBy, firstFailures } : {}),
    clientLoopDelayMs: { p99: round(clientLoop.percentile(99) / 1e6, 1), max: round(clientLoop.max / 1e6, 1) },
  };
}

/** The status, and for a failure the start of its body (a Status says which failure it is). */
function get(url: string, agent: Agent, headers: Record<string, string>): Promise<{ status: number; failure: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent, headers }, (response) => {
      const status = response.statusCode ?? 0;
      let failure = '';
      if (status === 200) response.resume();
      else
        response.setEncoding('utf8').on('data', (chunk: string) => {
          if (failure.length < 500) failure += chunk;
        });
      response.on('end', () => resolve({ status, failure: failure.slice(0, 500) }));
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}
