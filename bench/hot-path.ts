import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { counter, gauge, startPrometheus } from '../test/support/prometheus-server.js';
import {
  type CertificateFiles,
  cacheCounters,
  certificateIn,
  counterDelta,
  explainExternalPromql,
  httpsGet,
  httpsOrHttpGet,
  MAIN_JS,
  startAdapterServer,
} from './support/adapter.js';
import { type LoadResult, measureLoad } from './support/autocannon-run.js';
import { pinRunningProcess, SERVER_CPU, type ServerProcess, startServerProcess } from './support/processes.js';
import { median, ratio, round } from './support/stats.js';

/**
 * (a) A cached hit over HTTPS: the adapter (dist/main.js, standalone, Prometheus backend, cache
 * warm) against servers answering the same bytes: a minimal express 5 route, a bare node:https
 * handler, and Prometheus answering the same PromQL itself (plain HTTP, as prometheus-adapter
 * talks to it). Servers on CPU 0, autocannon (this process) on CPU 1; every target is measured
 * once per round, in turn (each round starting one target later), so noise from anything else on
 * the machine falls on all of them.
 */

/** The adapter's config in (a), and in bench/hit-cpu.ts. */
export const HOT_PATH_CONFIG = `
externalRules:
- seriesQuery: '{__name__="broker_queue_depth",queue!=""}'
  name: {as: queue_depth}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
- seriesQuery: '{__name__="http_requests_total",service!=""}'
  name: {as: http_requests_per_second}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (service)
rules:
- seriesQuery: '{__name__="pod_load",namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {as: pod_load}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
cache:
  # Long enough that every measured request is a cached hit, never a wait on Prometheus.
  prometheus: {ttl: 10m}
`;
const NAMESPACE = 'default';
const CONNECTIONS = 10;
/** Pods whose request counters the rate query sums, scraped every 15 s. */
const PODS = 100;

/**
 * The request measured against every baseline (a gauge summed over one series: the cheapest
 * PromQL there is), and a typical prometheus-adapter rule (a rate over 2 minutes of 100 pods'
 * counters), measured against Prometheus only, since a cached hit costs the adapter the same.
 */
const GAUGE = { metric: 'queue_depth', selector: 'queue=jobs' };
const RATE = { metric: 'http_requests_per_second', selector: 'service=web' };
/** One pod's custom metric by name (the HPA's Object metrics, and what `kubectl get --raw` users ask most). */
const OBJECT_METRIC_PATH = `/apis/custom.metrics.k8s.io/v1beta2/namespaces/${NAMESPACE}/pods/web-0/pod_load`;

function pathOf(request: { metric: string }): string {
  return `/apis/external.metrics.k8s.io/v1beta1/namespaces/${NAMESPACE}/${request.metric}`;
}

function queryOf(request: { selector: string }): string {
  return `?labelSelector=${encodeURIComponent(request.selector)}`;
}

export interface HotPathOptions {
  /** Seconds of each measured run; every target is measured once per round. */
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  /** Another build's dist/main.js measured beside this one (e.g. the previous commit), for before/after. */
  compareMainJs?: string;
}

interface Target {
  url: string;
  pid: number | undefined;
}

export interface HotPathResult {
  request: string;
  promql: string;
  ratePromql: string;
  responseBytes: number;
  connections: number;
  durationSeconds: number;
  roundCount: number;
  /** Median round of each target by throughput. */
  results: Record<string, LoadResult>;
  /** Every round of every target, to judge the noise. */
  rounds: Record<string, LoadResult[]>;
  /** Backend loads and cache answers counted by the adapter over all its rounds. */
  adapterCache: Record<string, number>;
  /** Medians over rounds of the ratio within each round, so that the machine's drift between rounds cancels out. */
  ratios: {
    throughputVsExpress: number;
    p99VsExpress: number;
    cpuPerRequestVsExpress: number;
    throughputVsNodeHttps: number;
    throughputVsPrometheus: number;
    rateQueryThroughputVsPrometheus: number;
    /** One pod's custom metric by name ÷ the external gauge (both cached hits, different bodies). */
    objectMetricThroughputVsExternal: number;
    /** With --compare-build: this build ÷ the other one. */
    vsComparedBuild?: { throughput: number; p99: number; cpuPerRequest: number };
  };
  goals: {
    throughputVsExpressAtLeast08: boolean;
    p99VsExpressAtMost15: boolean;
    throughputVsPrometheusAtLeast5: boolean;
    rateQueryThroughputVsPrometheusAtLeast5: boolean;
  };
}

export async function runHotPathBench(options: HotPathOptions): Promise<HotPathResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-hot-path-'));
  const now = Math.floor(Date.now() / 1000);
  const range = { end: now + 3600, seconds: 7200 };
  const prometheus = await startPrometheus({
    series: [
      gauge('pod_load', { namespace: NAMESPACE, pod: 'web-0' }, 7, { ...range, step: 60 }),
      ...['jobs', 'emails', 'reports'].map((queue, i) =>
        gauge('broker_queue_depth', { namespace: NAMESPACE, queue }, 1500 + i, { ...range, step: 60 }),
      ),
      ...Array.from({ length: PODS }, (_, pod) =>
        counter(
          'http_requests_total',
          { namespace: NAMESPACE, service: 'web', pod: `web-${pod}` },
          1 + (pod % 7),
          range,
        ),
      ),
    ],
  });
  const servers: ServerProcess[] = [];
  try {
    pinRunningProcess(prometheus.pid, SERVER_CPU);
    const certificate = await certificateIn(join(dir, 'certs'));
    const startAdapter = async (mainJs: string): Promise<ServerProcess> => {
      const adapter = await startAdapterServer({
        dir,
        configYaml: HOT_PATH_CONFIG,
        prometheusUrl: prometheus.url,
        certificate,
        cpu: SERVER_CPU,
        mainJs,
      });
      servers.push(adapter);
      return adapter;
    };
    const adapterTarget = (server: ServerProcess, request: typeof GAUGE): Target => ({
      url: `https://127.0.0.1:${server.port}${pathOf(request)}${queryOf(request)}`,
      pid: server.child.pid,
    });
    const adapter = await startAdapter(MAIN_JS);
    const gaugeTarget = adapterTarget(adapter, GAUGE);
    const first = await httpsGet(gaugeTarget.url);
    if (first.status !== 200) throw new Error(`adapter answered ${first.status}: ${first.body}`);
    const bodyPath = join(dir, 'body.json');
    await writeFile(bodyPath, first.body);
    const explain = (request: typeof GAUGE) =>
      explainExternalPromql(
        join(dir, 'adapter-config.yaml'),
        prometheus.url,
        request.metric,
        NAMESPACE,
        request.selector,
      );
    const promql = await explain(GAUGE);
    const ratePromql = await explain(RATE);
    const prometheusTarget = (query: string): Target => ({
      url: `${prometheus.url}/api/v1/query?${new URLSearchParams({ query })}`,
      pid: prometheus.pid,
    });

    const startBaseline = async (script: string): Promise<Target> => {
      const server = await startBaselineServer(script, certificate, bodyPath);
      servers.push(server);
      const url = `https://127.0.0.1:${server.port}${pathOf(GAUGE)}${queryOf(GAUGE)}`;
      const check = await httpsGet(url);
      if (check.body !== first.body || check.contentType !== first.contentType) {
        throw new Error(`baseline ${script} does not answer the adapter's bytes (${check.contentType})`);
      }
      return { url, pid: server.child.pid };
    };
    const targets: Record<string, Target> = {
      adapter: gaugeTarget,
      ...(options.compareMainJs
        ? { adapterCompared: adapterTarget(await startAdapter(options.compareMainJs), GAUGE) }
        : {}),
      expressRoute: await startBaseline('express-route.ts'),
      nodeHttps: await startBaseline('node-https.ts'),
      prometheusDirect: prometheusTarget(promql),
      adapterRateQuery: adapterTarget(adapter, RATE),
      adapterObjectMetric: { url: `https://127.0.0.1:${adapter.port}${OBJECT_METRIC_PATH}`, pid: adapter.child.pid },
      prometheusRateQuery: prometheusTarget(ratePromql),
    };
    for (const [name, target] of Object.entries(targets)) {
      const check = await httpsOrHttpGet(target.url);
      if (check.status !== 200) throw new Error(`${name} answered ${check.status}: ${check.body.slice(0, 300)}`);
    }
    const adapterBase = new URL(gaugeTarget.url).origin;
    const before = await cacheCounters(adapterBase);
    const { results, rounds } = await measureInRounds(targets, options);
    const adapterCache = counterDelta(before, await cacheCounters(adapterBase));
    const paired = (a: string, b: string, value: (result: LoadResult) => number | undefined): number =>
      pairedRatio(rounds[a] ?? [], rounds[b] ?? [], value);
    const throughput = (result: LoadResult) => result.requestsPerSecond;
    const ratios = {
      throughputVsExpress: paired('adapter', 'expressRoute', throughput),
      p99VsExpress: paired('adapter', 'expressRoute', (result) => result.p99Ms),
      cpuPerRequestVsExpress: paired('adapter', 'expressRoute', (result) => result.serverCpuMicrosPerRequest),
      throughputVsNodeHttps: paired('adapter', 'nodeHttps', throughput),
      throughputVsPrometheus: paired('adapter', 'prometheusDirect', throughput),
      rateQueryThroughputVsPrometheus: paired('adapterRateQuery', 'prometheusRateQuery', throughput),
      objectMetricThroughputVsExternal: paired('adapterObjectMetric', 'adapter', throughput),
      ...(rounds.adapterCompared
        ? {
            vsComparedBuild: {
              throughput: paired('adapter', 'adapterCompared', throughput),
              p99: paired('adapter', 'adapterCompared', (result) => result.p99Ms),
              cpuPerRequest: paired('adapter', 'adapterCompared', (result) => result.serverCpuMicrosPerRequest),
            },
          }
        : {}),
    };
    return {
      request: `GET ${pathOf(GAUGE)}${queryOf(GAUGE)}`,
      promql,
      ratePromql,
      responseBytes: Buffer.byteLength(first.body),
      connections: CONNECTIONS,
      durationSeconds: options.durationSeconds,
      roundCount: options.rounds,
      results,
      rounds,
      adapterCache,
      ratios,
      goals: {
        throughputVsExpressAtLeast08: ratios.throughputVsExpress >= 0.8,
        p99VsExpressAtMost15: ratios.p99VsExpress <= 1.5,
        throughputVsPrometheusAtLeast5: ratios.throughputVsPrometheus >= 5,
        rateQueryThroughputVsPrometheusAtLeast5: ratios.rateQueryThroughputVsPrometheus >= 5,
      },
    };
  } finally {
    await Promise.allSettled(servers.map((server) => server.stop()));
    await prometheus.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A baseline server (bench/baselines/) answering the bytes in `bodyPath` at the external gauge's path. */
export function startBaselineServer(
  script: string,
  certificate: CertificateFiles,
  bodyPath: string,
): Promise<ServerProcess> {
  return startServerProcess(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL(`./baselines/${script}`, import.meta.url).pathname,
      `--cert=${certificate.certPath}`,
      `--key=${certificate.keyPath}`,
      `--body=${bodyPath}`,
      `--path=${pathOf(GAUGE)}`,
    ],
    { cpu: SERVER_CPU },
  );
}

/** Each target's median round by throughput; any failed answer under load fails the bench. */
async function measureInRounds(
  targets: Record<string, Target>,
  options: HotPathOptions,
): Promise<{ results: Record<string, LoadResult>; rounds: Record<string, LoadResult[]> }> {
  const runs = new Map<string, LoadResult[]>();
  const entries = Object.entries(targets);
  for (let round = 0; round < options.rounds; round++) {
    // Each round starts one target later: a burst of other work on the machine at a round's start
    // or end falls on a different target each time, not always on the same pair of builds.
    const inTurn = entries.map((_, i) => entries[(i + round) % entries.length] as [string, Target]);
    for (const [name, target] of inTurn) {
      const result = await measureLoad({
        url: target.url,
        connections: CONNECTIONS,
        durationSeconds: options.durationSeconds,
        warmupSeconds: round === 0 ? options.warmupSeconds : 0,
        ...(target.pid === undefined ? {} : { serverPid: target.pid }),
      });
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(`${name}: ${result.non2xx} non-2xx answers and ${result.errors} errors under load`);
      }
      runs.set(name, [...(runs.get(name) ?? []), result]);
    }
  }
  const median = (results: LoadResult[]): LoadResult => {
    const sorted = [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
    return sorted[Math.floor(sorted.length / 2)] as LoadResult;
  };
  return {
    results: Object.fromEntries([...runs].map(([name, results]) => [name, median(results)])),
    rounds: Object.fromEntries(runs),
  };
}

function pairedRatio(
  a: readonly LoadResult[],
  b: readonly LoadResult[],
  value: (result: LoadResult) => number | undefined,
): number {
  const ratios = a
    .map((result, i) => {
      const other = b[i];
      return other === undefined ? Number.NaN : ratio(value(result) ?? Number.NaN, value(other) ?? Number.NaN);
    })
    .filter((r) => Number.isFinite(r));
  return ratios.length === 0 ? Number.NaN : round(median(ratios));
}
