import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BUILTIN_RESOURCES } from '../src/api/builtin-resources.js';
import { parseConfig } from '../src/config/load.js';
import { resourceRulesOf } from '../src/providers/prometheus/config.js';
import { compileResourceRules, renderContainerQuery } from '../src/resource-metrics/rules.js';
import { createCertDir } from '../test/support/certs.js';
import { aggregatedAdapterArgs, HPA_USER } from '../test/support/cluster-harness.js';
import { startKubeApiserverDouble } from '../test/support/kube-apiserver-double.js';
import { counter, gauge, type SeriesSpec, startPrometheus } from '../test/support/prometheus-server.js';
import { kubePrometheusConfig } from '../test/support/resource-metrics-cluster.js';
import { cacheCounters, certificateIn, counterDelta, MAIN_JS, sumSamples } from './support/adapter.js';
import { cpuSeconds, SERVER_CPU, type ServerProcess, startServerProcess } from './support/processes.js';
import { percentile, ratio, round, sortedCopy } from './support/stats.js';

/**
 * (k) `kubectl top pod -A` and `kubectl top pod -n small`: metrics.k8s.io lists of 5,000 pods in
 * 100 namespaces and of one namespace of 50 pods, from kube-prometheus's resourceRules over a real
 * Prometheus, the pods in the kube-apiserver double, the built adapter in cluster mode (front-proxy
 * authentication, as the aggregator calls it) on CPU 0. Per build:
 * - cold: an adapter whose cache keeps nothing (ttl 1ms), so every request runs its queries, joins
 *   and renders: p50/p99 and Prometheus queries per request; the baseline is the same two PromQL
 *   queries sent to Prometheus directly;
 * - cached: the default cache, every request a hit: p50/p99, the adapter's CPU per request; the
 *   baseline is the same pods through custom.metrics.k8s.io (`pods/*` of one namespace: one request
 *   for the 50, one per namespace for the 5,000, which is the only way that API lists them);
 * - heap: the adapter's V8 heap in use after full GCs (support/heap-on-signal.mjs), after the
 *   lists minus before the first one: what it holds for them (informers, cache entries, kept answers).
 * `compareMainJs` (another build) runs the same phases beside this one, for before → after.
 */

const HEAP_ON_SIGNAL = fileURLToPath(new URL('./support/heap-on-signal.mjs', import.meta.url));
const NAMESPACES = 100;
const PODS_PER_NAMESPACE = 50;
const SMALL = 'small';
const CUSTOM_METRIC = 'container_memory_working_set_bytes';

const CUSTOM_RULE = `
rules:
- seriesQuery: '${CUSTOM_METRIC}{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {as: ${CUSTOM_METRIC}}
  metricsQuery: sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>,container!=""})
`;
const COLD_CACHE = `
cache:
  prometheus: {ttl: 1ms, negativeTtl: 0s, refreshAheadRatio: 0}
`;

export interface ResourceMetricsBenchOptions {
  /** Requests per measured phase (the cold 5,000-pod list runs a fifth of them). */
  rounds: number;
  compareMainJs?: string;
}

interface Latency {
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

interface ShapeResult {
  pods: number;
  bodyBytes: number;
  cold: Latency & { queriesPerRequest: number; prometheusDirect: Latency; vsPrometheus: { p50: number } };
  cached: Latency & {
    cpuMsPerRequest: number;
    customMetrics: Latency & { requestsPerList: number; cpuMsPerList: number };
    vsCustomMetrics: { p50: number; cpu: number };
  };
}

export interface BuildResult {
  build: string;
  all: ShapeResult;
  oneNamespace: ShapeResult;
  heapHeldBytes: number;
  cacheBytes: number;
}

export interface ResourceMetricsBenchResult {
  pods: number;
  namespaces: number;
  loadAverageAtStart: number[];
  builds: BuildResult[];
  /** Per-request CPU of a cached list, this build ÷ the compared one. */
  cachedCpuVsCompared?: { all: number; oneNamespace: number };
}

function clusterNamespaces(): string[] {
  return [...Array.from({ length: NAMESPACES }, (_, i) => `team-${i}`), SMALL];
}

export async function runResourceMetricsBench(
  options: ResourceMetricsBenchOptions,
): Promise<ResourceMetricsBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-resource-metrics-'));
  const loadAverageAtStart = loadavg();
  const range = { end: Math.floor(Date.now() / 1000) + 3600, seconds: 4200, step: 60 };
  const series: SeriesSpec[] = [];
  const namespaces = clusterNamespaces();
  for (const [n, namespace] of namespaces.entries()) {
    for (let p = 0; p < PODS_PER_NAMESPACE; p++) {
      const labels = { namespace, pod: `app-${n}-${p}`, container: 'app', job: 'kubelet' };
      series.push(counter('container_cpu_usage_seconds_total', labels, 0.001 * (1 + (p % 50)), range));
      series.push(gauge(CUSTOM_METRIC, labels, 1024 * 1024 * (10 + p), range));
    }
  }
  const prometheus = await startPrometheus({ series });
  const kube = await startKubeApiserverDouble();
  kube.allowRules.push(
    { user: HPA_USER, group: 'metrics.k8s.io' },
    { user: HPA_USER, verb: 'get', group: 'custom.metrics.k8s.io' },
  );
  for (const [n, namespace] of namespaces.entries()) {
    for (let p = 0; p < PODS_PER_NAMESPACE; p++) {
      kube.watch.put({
        group: '',
        version: 'v1',
        resource: 'pods',
        namespace,
        name: `app-${n}-${p}`,
        labels: { app: `app-${n}`, 'pod-template-hash': `7d4b9c8f${n}` },
      });
    }
  }
  const certs = await createCertDir('bench-resource-metrics-');
  try {
    const frontProxyCa = await certs.createCa('front-proxy-ca');
    const client = await frontProxyCa.issue({ cn: 'front-proxy-client' });
    const serving = await certificateIn(join(dir, 'serving'));
    const rules = (await kubePrometheusConfig()) + CUSTOM_RULE;
    const configs = { cached: join(dir, 'cached.yaml'), cold: join(dir, 'cold.yaml') };
    await writeFile(configs.cached, rules);
    await writeFile(configs.cold, rules + COLD_CACHE);
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      rejectUnauthorized: false,
      cert: client.chain,
      key: client.key,
    });
    const start = (mainJs: string, config: string) =>
      startServerProcess(
        process.execPath,
        [
          '--expose-gc',
          '--import',
          HEAP_ON_SIGNAL,
          mainJs,
          ...aggregatedAdapterArgs({ configPath: config, serving, frontProxyCa, kubeconfigPath: kube.kubeconfigPath }),
          `--prometheus-url=${prometheus.url}`,
        ],
        { cpu: SERVER_CPU, env: { ...process.env, LOG_LEVEL: 'info' }, timeoutMs: 60_000 },
      );
    const promql = directQueries(rules);
    const builds: BuildResult[] = [];
    const targets = [{ build: 'this build', mainJs: MAIN_JS }];
    if (options.compareMainJs) targets.push({ build: options.compareMainJs, mainJs: options.compareMainJs });
    for (const target of targets) {
      builds.push(
        await measureBuild(target.build, (config) => start(target.mainJs, configs[config]), {
          rounds: options.rounds,
          agent,
          prometheusUrl: prometheus.url,
          promql,
        }),
      );
    }
    agent.destroy();
    const [mine, other] = builds;
    return {
      pods: (NAMESPACES + 1) * PODS_PER_NAMESPACE,
      namespaces: NAMESPACES + 1,
      loadAverageAtStart,
      builds,
      ...(mine && other
        ? {
            cachedCpuVsCompared: {
              all: ratio(mine.all.cached.cpuMsPerRequest, other.all.cached.cpuMsPerRequest),
              oneNamespace: ratio(mine.oneNamespace.cached.cpuMsPerRequest, other.oneNamespace.cached.cpuMsPerRequest),
            },
          }
        : {}),
    };
  } finally {
    await kube.close();
    await prometheus.stop();
    await certs.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The PromQL the adapter sends for each shape (rules.ts renders it), to send to Prometheus directly. */
function directQueries(configYaml: string): { all: string[]; oneNamespace: string[] } {
  const found = resourceRulesOf(parseConfig(configYaml, 'bench'));
  if (!found) throw new Error('the bench config has no resourceRules');
  const rules = compileResourceRules(found.rules, found.field, BUILTIN_RESOURCES);
  const both = (scope: { namespace?: string }) =>
    [rules.cpu, rules.memory].map((q) =>
      renderContainerQuery(q, scope.namespace === undefined ? {} : { namespace: scope.namespace }),
    );
  return { all: both({}), oneNamespace: both({ namespace: SMALL }) };
}

interface MeasureContext {
  rounds: number;
  agent: Agent;
  prometheusUrl: string;
  promql: { all: string[]; oneNamespace: string[] };
}

const HEADERS = { 'X-Remote-User': HPA_USER, 'X-Remote-Group': 'system:serviceaccounts' };
const LIST_ALL = '/apis/metrics.k8s.io/v1beta1/pods';
const LIST_SMALL = `/apis/metrics.k8s.io/v1beta1/namespaces/${SMALL}/pods`;
const customList = (namespace: string) =>
  `/apis/custom.metrics.k8s.io/v1beta1/namespaces/${namespace}/pods/*/${CUSTOM_METRIC}`;

async function measureBuild(
  build: string,
  start: (config: 'cold' | 'cached') => Promise<ServerProcess>,
  context: MeasureContext,
): Promise<BuildResult> {
  const { rounds, agent } = context;
  const cold = await start('cold');
  let coldAll: ShapeResult['cold'];
  let coldSmall: ShapeResult['cold'];
  try {
    const base = `https://127.0.0.1:${cold.port}`;
    // The informers' first sync, outside the measured requests.
    await timedGet(base + LIST_ALL, agent);
    coldAll = await measureCold(base, LIST_ALL, context.promql.all, Math.max(5, Math.floor(rounds / 5)), context);
    coldSmall = await measureCold(base, LIST_SMALL, context.promql.oneNamespace, rounds, context);
  } finally {
    await cold.stop();
  }

  const cached = await start('cached');
  try {
    const base = `https://127.0.0.1:${cached.port}`;
    const heapBefore = await heapInUse(cached);
    const all = await measureCached(base, [LIST_ALL], clusterNamespaces().map(customList), rounds, cached, agent);
    const small = await measureCached(base, [LIST_SMALL], [customList(SMALL)], rounds, cached, agent);
    const heapAfter = await heapInUse(cached);
    const exposition = (await timedGet(`${base}/metrics`, agent)).body;
    return {
      build,
      all: { pods: all.pods, bodyBytes: all.bodyBytes, cold: coldAll, cached: all.cached },
      oneNamespace: { pods: small.pods, bodyBytes: small.bodyBytes, cold: coldSmall, cached: small.cached },
      heapHeldBytes: heapAfter - heapBefore,
      cacheBytes: sumSamples(exposition, 'hpa_metrics_adapter_cache_bytes', { backend: 'prometheus' }),
    };
  } finally {
    await cached.stop();
  }
}

async function measureCold(
  base: string,
  path: string,
  promql: readonly string[],
  rounds: number,
  context: MeasureContext,
): Promise<ShapeResult['cold']> {
  const before = await cacheCounters(base, context.agent);
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push((await timedGet(base + path, context.agent)).ms);
  const delta = counterDelta(before, await cacheCounters(base, context.agent));
  const direct: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await Promise.all(promql.map((q) => queryPrometheus(context.prometheusUrl, q)));
    direct.push(performance.now() - started);
  }
  const latency = summarize(times);
  const prometheusDirect = summarize(direct);
  return {
    ...latency,
    queriesPerRequest: round((delta.backendLoads ?? 0) / rounds, 2),
    prometheusDirect,
    vsPrometheus: { p50: ratio(latency.p50Ms, prometheusDirect.p50Ms) },
  };
}

async function measureCached(
  base: string,
  paths: readonly string[],
  baselinePaths: readonly string[],
  rounds: number,
  adapter: ServerProcess,
  agent: Agent,
): Promise<{ pods: number; bodyBytes: number; cached: ShapeResult['cached'] }> {
  const [path = ''] = paths;
  const first = await timedGet(base + path, agent);
  const pods = (JSON.parse(first.body) as { items: unknown[] }).items.length;
  for (const p of baselinePaths) await timedGet(base + p, agent);

  const run = async (urls: readonly string[]) => {
    const times: number[] = [];
    const cpuBefore = cpuSeconds(adapter.child.pid) ?? 0;
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      for (const url of urls) await timedGet(base + url, agent);
      times.push(performance.now() - started);
    }
    const cpuMs = (((cpuSeconds(adapter.child.pid) ?? 0) - cpuBefore) * 1000) / rounds;
    return { ...summarize(times), cpuMs: round(cpuMs, 3) };
  };
  const lists = await run(paths);
  const custom = await run(baselinePaths);
  return {
    pods,
    bodyBytes: Buffer.byteLength(first.body),
    cached: {
      requests: lists.requests,
      p50Ms: lists.p50Ms,
      p99Ms: lists.p99Ms,
      cpuMsPerRequest: lists.cpuMs,
      customMetrics: {
        requests: custom.requests,
        p50Ms: custom.p50Ms,
        p99Ms: custom.p99Ms,
        requestsPerList: baselinePaths.length,
        cpuMsPerList: custom.cpuMs,
      },
      vsCustomMetrics: { p50: ratio(lists.p50Ms, custom.p50Ms), cpu: ratio(lists.cpuMs, custom.cpuMs) },
    },
  };
}

/** The adapter's heap in use after full GCs (support/heap-on-signal.mjs prints it on SIGUSR2). */
async function heapInUse(adapter: ServerProcess): Promise<number> {
  const seen = adapter.output.length;
  adapter.child.kill('SIGUSR2');
  for (let waited = 0; waited < 10_000; waited += 50) {
    for (const line of adapter.output.slice(seen)) {
      const match = /^\{"heapUsedBytes":(\d+)\}$/.exec(line);
      if (match) return Number(match[1]);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the adapter printed no heap reading within 10 s of SIGUSR2');
}

function summarize(times: readonly number[]): Latency {
  const sorted = sortedCopy(times);
  return {
    requests: times.length,
    p50Ms: round(percentile(sorted, 0.5), 2),
    p99Ms: round(percentile(sorted, 0.99), 2),
  };
}

/** One GET as the aggregator sends it (front-proxy certificate, X-Remote-* headers); a non-200 throws. */
function timedGet(url: string, agent: Agent): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    request(url, { agent, headers: HEADERS }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`${url}: ${response.statusCode} ${body.slice(0, 500)}`));
        else resolve({ ms: performance.now() - started, body });
      });
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

async function queryPrometheus(base: string, promql: string): Promise<void> {
  const answer = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: promql }),
  });
  if (!answer.ok) throw new Error(`Prometheus answered ${answer.status} to ${promql}`);
  await answer.arrayBuffer();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, 'compare-build': { type: 'string' } } });
  const result = await runResourceMetricsBench({
    rounds: Number(values.rounds ?? 100),
    ...(values['compare-build'] ? { compareMainJs: values['compare-build'] } : {}),
  });
  console.log(JSON.stringify(result, null, 2));
}
