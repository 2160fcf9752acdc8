import { execFileSync } from 'node:child_process';
import { Agent, request } from 'node:https';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type ClusterHarness, HPA_USER, startClusterHarness } from '../test/support/cluster-harness.js';
import { gauge, type PrometheusServer, startPrometheus } from '../test/support/prometheus-server.js';
import { cpuSeconds } from './support/processes.js';
import { percentile, ratio, round, sortedCopy } from './support/stats.js';

/**
 * Issue 22's bench: MetricDefinitions at 1,000 definitions in 100 namespaces.
 *
 * - heap per definition (a child with --expose-gc, support/definitions-heap-child.ts), beside the
 *   same objects kept as the watch's parsed JSON;
 * - create → served through the built adapter (dist/main.js in cluster mode, the kube-apiserver
 *   double, a real Prometheus): with 900 definitions held, 100 more are created one at a time and
 *   each is read until it answers 200; p50/p99;
 * - a definition's cached read beside the same PromQL from a config externalRule, alternating one
 *   at a time over one kept-alive connection as the aggregator sends them; p50/p99 and the ratio
 *   (goal ≤ 1.1×);
 * - status writes per minute at steady state (the writer holds the Lease; values unchanged):
 *   counted at the double once the first writes have settled (goal 0).
 *
 * With `compareMainJs` (another build, e.g. the session's base) the adapter phases run for both
 * builds in turn, each beside the machine's load; the adapter's CPU per create is the figure to
 * compare under load. Section (l) of `npm run bench`, or alone:
 *
 *   npx tsc -p tsconfig.json && node --import tsx bench/definitions.ts [--quick] [--compare-build=FILE]
 */

const TOTAL = 1000;
const NAMESPACES = 100;

export interface DefinitionsBenchOptions {
  quick: boolean;
  compareMainJs?: string;
}

export type DefinitionsBenchResult = Awaited<ReturnType<typeof runDefinitionsBench>>;

const heapChild = fileURLToPath(new URL('./support/definitions-heap-child.ts', import.meta.url));

function heapPerDefinition() {
  const line = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', heapChild, String(TOTAL)], {
    encoding: 'utf8',
  });
  const report = JSON.parse(line.trim().split('\n').at(-1) ?? '{}') as {
    heapBytes: number;
    rawObjectsHeapBytes: number;
  };
  const perDefinition = report.heapBytes / TOTAL;
  const perRawObject = report.rawObjectsHeapBytes / TOTAL;
  return {
    definitions: TOTAL,
    heapBytesPerDefinition: Math.round(perDefinition),
    rawObjectBytesPerDefinition: Math.round(perRawObject),
    ratioToRawObject: ratio(perDefinition, perRawObject),
  };
}

const definitionObject = (i: number) => ({
  group: 'hpa-metrics-adapter.io',
  version: 'v1alpha1',
  resource: 'metricdefinitions',
  namespace: `ns-${i % NAMESPACES}`,
  name: `jobs-${i}`,
  generation: 1,
  creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)).toISOString(),
  spec: { prometheus: { query: `sum(bench_jobs) * ${i + 1}` } },
});

function reader(cluster: ClusterHarness) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: cluster.servingCa.cert });
  const read = (namespace: string, metric: string): Promise<{ status: number; ms: number }> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      request(
        {
          host: '127.0.0.1',
          port: cluster.adapter.port,
          path: `/apis/external.metrics.k8s.io/v1beta1/namespaces/${namespace}/${metric}`,
          agent,
          cert: cluster.proxyClient.chain,
          key: cluster.proxyClient.key,
          headers: { 'X-Remote-User': HPA_USER, 'X-Remote-Group': 'system:authenticated' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
        },
      )
        .on('error', reject)
        .end();
    });
  return { read, close: () => agent.destroy() };
}

async function servedWithin(read: () => Promise<{ status: number }>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    if ((await read()).status === 200) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`not served within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function throughAdapter(mainJs: string | undefined, quick: boolean) {
  const measuredCreates = quick ? 20 : 100;
  const readRounds = quick ? 300 : 2000;
  const steadyMs = quick ? 20_000 : 60_000;
  const now = Math.floor(Date.now() / 1000);
  const range = { end: now + 3600, seconds: 3600 };
  const prometheus: PrometheusServer = await startPrometheus({
    series: Array.from({ length: NAMESPACES }, (_, i) => gauge('bench_jobs', { namespace: `ns-${i}` }, i + 1, range)),
  });
  const cluster = await startClusterHarness({
    ...(mainJs ? { mainJs } : {}),
    config: `
prometheus:
  url: ${prometheus.url}
  externalRules:
  - seriesQuery: 'bench_jobs'
    resources: { overrides: { namespace: { resource: namespace } } }
    name: { matches: "^bench_jobs$", as: "bench-jobs-config" }
    metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
cache:
  default: { ttl: 10m }
definitions:
  enabled: true
  rules:
  - namespaces: ["ns-*"]
    prometheus: { servers: ["*"] }
`,
  });
  const { read, close } = reader(cluster);
  try {
    const held = TOTAL - measuredCreates;
    for (let i = 0; i < held; i++) cluster.kube.watch.put(definitionObject(i));
    const lastHeld = definitionObject(held - 1);
    await servedWithin(() => read(lastHeld.namespace, lastHeld.name), 120_000);

    const creates: number[] = [];
    const cpuBefore = cpuSeconds(cluster.adapter.child.pid);
    for (let i = held; i < TOTAL; i++) {
      const object = definitionObject(i);
      cluster.kube.watch.put(object);
      creates.push(await servedWithin(() => read(object.namespace, object.name), 60_000));
    }
    const cpuAfter = cpuSeconds(cluster.adapter.child.pid);
    const createSorted = sortedCopy(creates);

    // Both warm (one backend load each), then alternate: the same PromQL, one from each source.
    const definitionQuery = ['ns-0', 'jobs-0'] as const;
    const configQuery = ['ns-0', 'bench-jobs-config'] as const;
    for (const [namespace, metric] of [definitionQuery, configQuery]) {
      const warm = await read(namespace, metric);
      if (warm.status !== 200) throw new Error(`${namespace}/${metric} answered ${warm.status}`);
    }
    const definitionMs: number[] = [];
    const configMs: number[] = [];
    for (let round = 0; round < readRounds; round++) {
      definitionMs.push((await read(...definitionQuery)).ms);
      configMs.push((await read(...configQuery)).ms);
    }
    const def = sortedCopy(definitionMs);
    const cfg = sortedCopy(configMs);

    // Steady state: the first writes (one per definition, then the values read) have settled when
    // no write came for longer than the writer's per-object interval (30 s).
    const statusWrites = () => cluster.kube.writes.filter((w) => w.endpoint === 'status' && w.method !== 'GET').length;
    const settleStarted = Date.now();
    let last = statusWrites();
    let quietSince = Date.now();
    while (Date.now() - quietSince < 35_000 && Date.now() - settleStarted < 300_000) {
      await sleep(1000);
      await read(...definitionQuery);
      await read('ns-1', 'jobs-1');
      const now = statusWrites();
      if (now !== last) {
        last = now;
        quietSince = Date.now();
      }
    }
    const before = statusWrites();
    const firstWritesByCode: Record<string, number> = {};
    for (const w of cluster.kube.writes.filter((w) => w.endpoint === 'status' && w.method !== 'GET'))
      firstWritesByCode[w.code] = (firstWritesByCode[w.code] ?? 0) + 1;
    const steadyStarted = Date.now();
    while (Date.now() - steadyStarted < steadyMs) {
      await read(...definitionQuery);
      await read('ns-1', 'jobs-1');
      await sleep(1000);
    }
    const steadyWrites = statusWrites() - before;
    return {
      createToServedMs: {
        heldBefore: held,
        created: creates.length,
        p50: round(percentile(createSorted, 0.5)),
        p99: round(percentile(createSorted, 0.99)),
        goalMs: 5000,
        // Everything the adapter did meanwhile (the rebuilds, the reads until 200, status writes).
        adapterCpuMsPerCreate:
          cpuBefore === undefined || cpuAfter === undefined
            ? undefined
            : round(((cpuAfter - cpuBefore) * 1000) / creates.length),
      },
      cachedReadMs: {
        rounds: readRounds,
        definition: { p50: round(percentile(def, 0.5), 3), p99: round(percentile(def, 0.99), 3) },
        configRule: { p50: round(percentile(cfg, 0.5), 3), p99: round(percentile(cfg, 0.99), 3) },
        ratioP50: ratio(percentile(def, 0.5), percentile(cfg, 0.5)),
        ratioP99: ratio(percentile(def, 0.99), percentile(cfg, 0.99)),
        goal: 1.1,
      },
      statusWrites: {
        firstWrites: before,
        firstWritesByCode,
        settledAfterMs: Date.now() - settleStarted - steadyMs,
        steadyWindowMs: steadyMs,
        steadyWritesPerMinute: round((steadyWrites * 60_000) / steadyMs),
        goal: 0,
      },
    };
  } finally {
    close();
    await cluster.close();
    await prometheus.stop();
  }
}

export async function runDefinitionsBench(options: DefinitionsBenchOptions) {
  const heap = heapPerDefinition();
  const builds: { build: string; mainJs: string | undefined }[] = [{ build: 'this', mainJs: undefined }];
  if (options.compareMainJs) builds.push({ build: options.compareMainJs, mainJs: options.compareMainJs });
  const adapters = [];
  for (const { build, mainJs } of builds) {
    const loadAverage = round(loadavg()[0] ?? 0);
    adapters.push({ build, loadAverage, ...(await throughAdapter(mainJs, options.quick)) });
  }
  return { definitions: TOTAL, namespaces: NAMESPACES, heap, builds: adapters };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, 'compare-build': { type: 'string' } } });
  const result = await runDefinitionsBench({
    quick: values.quick ?? false,
    ...(values['compare-build'] ? { compareMainJs: values['compare-build'] } : {}),
  });
  console.log(JSON.stringify(result, null, 2));
}
