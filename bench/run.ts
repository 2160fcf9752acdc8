import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runCacheMemoryBench } from './cache-memory.js';
import { runCloudWatchBatchingBench } from './cloudwatch-batching.js';
import { runDefinitionsBench } from './definitions.js';
import { runDiscoveryBench } from './discovery.js';
import { runHotPathBench } from './hot-path.js';
import { runHpaClientsBench } from './hpa-clients.js';
import { runHpaRefreshBench } from './hpa-refresh.js';
import { runPrometheusBench } from './prometheus.js';
import { runRegexpBench } from './regexp.js';
import { runResourceMetricsBench } from './resource-metrics.js';
import { runSelectorInformersBench } from './selector-informers.js';
import { summaryRows } from './summary.js';
import { adapterRuntime } from './support/adapter-runtime.js';
import { canPin, LOAD_CPU } from './support/processes.js';
import { runUpstreamsBench } from './upstreams.js';

/**
 * `npm run bench`: every benchmark section, one summary table, and the full results as JSON in
 * bench/results/<timestamp>.json.
 *
 *   --quick               short runs (a smoke test of the benchmarks, not numbers to quote)
 *   --only=a,b,…          some sections only
 *   --compare-build=FILE  another build's dist/main.js measured beside this one in (a), (b), (j), (k), (l), e.g.
 *                         the previous commit built in a git worktree, for before/after numbers
 *   --hpas=N              HPAs in (b) (default 10,000) and (j) (default 2,000: on a 2-core machine two
 *                         adapter replicas, Prometheus, the kube double and the client share two cores),
 *                         to size what one adapter core serves
 *   --cpu-prof-dir=DIR    (b)'s and (j)'s adapters write V8 CPU profiles there (node --cpu-prof)
 *   --gc-helpers=apart    (b)'s adapter keeps CPU 0 for its main thread and runs its helper threads (V8's
 *                         parallel GC) on CPU 1, as a pod without a CPU limit does; default: all on CPU 0
 *   --adapter-node=bench  (b)'s and (j)'s adapters run on the Node running the bench, with V8's default heap
 *                         sizing; default `image`: the image's Node with the Deployment's NODE_OPTIONS, as a
 *                         pod runs them (bench/support/adapter-runtime.ts)
 *
 * Servers run on CPU 0 and this process (the load generator) re-runs itself on CPU 1, where
 * taskset and two CPUs exist.
 */

const SECTIONS = {
  a: 'cached hit over HTTPS against baselines',
  b: '10,000 HPA-like clients',
  c: 'RSS with 50,000 cached entries',
  d: 'uncached custom metric vs Prometheus (bench/prometheus.ts)',
  e: 'CloudWatch GetMetricData batching (bench/cloudwatch-batching.ts)',
  f: 'Pods metric by selector, watched vs listed (bench/selector-informers.ts)',
  g: 'a metric forwarded to an upstream vs asked directly (bench/upstreams.ts)',
  h: 'APIService availability check, backends down (bench/discovery.ts)',
  i: 'a backtracking config pattern, RE2 vs RegExp (bench/regexp.ts)',
  j: '(b) with HPA-aware refresh: 2,000 HPAs, 1 and 2 replicas, failover, leader mode (bench/hpa-refresh.ts)',
  k: 'metrics.k8s.io: kubectl top pod -A of 5,000 pods, one namespace of 50 (bench/resource-metrics.ts)',
  l: 'MetricDefinitions: 1,000 in 100 namespaces, create → served, heap, cached read, status writes (bench/definitions.ts)',
} as const;
type Section = keyof typeof SECTIONS;
const PINNED_ENV = 'HPA_BENCH_LOAD_CPU';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    only: { type: 'string' },
    'compare-build': { type: 'string' },
    hpas: { type: 'string' },
    'cpu-prof-dir': { type: 'string' },
    'gc-helpers': { type: 'string' },
    'adapter-node': { type: 'string' },
  },
});
const quick = values.quick ?? false;
const only = new Set((values.only ?? Object.keys(SECTIONS).join(',')).split(',').map((s) => s.trim()));
const compareMainJs = values['compare-build'];
const hpas = values.hpas === undefined ? undefined : Number(values.hpas);
if (hpas !== undefined && (!Number.isInteger(hpas) || hpas < 1))
  throw new Error(`--hpas: expected a positive whole number, got "${values.hpas}"`);
const cpuProfileDir = values['cpu-prof-dir'];
const gcHelpers = values['gc-helpers'] ?? 'with-main';
if (gcHelpers !== 'with-main' && gcHelpers !== 'apart')
  throw new Error(`--gc-helpers: expected apart or with-main, got "${gcHelpers}"`);
const adapterNode = values['adapter-node'] ?? 'image';
if (adapterNode !== 'image' && adapterNode !== 'bench')
  throw new Error(`--adapter-node: expected image or bench, got "${adapterNode}"`);

if (canPin() && process.env[PINNED_ENV] === undefined) {
  const rerun = spawnSync(
    'taskset',
    ['-c', String(LOAD_CPU), process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, [PINNED_ENV]: String(LOAD_CPU) },
    },
  );
  process.exit(rerun.status ?? 1);
}

const startedAt = new Date();
const loadAtStart = loadavg();
const results: Partial<Record<Section, unknown>> = {};
const errors: Partial<Record<Section, string>> = {};

async function section(name: Section, run: () => Promise<unknown>): Promise<void> {
  if (!only.has(name)) return;
  process.stderr.write(`bench (${name}) ${SECTIONS[name]} …\n`);
  const started = Date.now();
  try {
    results[name] = await run();
  } catch (error) {
    errors[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`bench (${name}) failed: ${errors[name]}\n`);
  }
  process.stderr.write(`bench (${name}) took ${Math.round((Date.now() - started) / 1000)} s\n`);
}

await section('a', () =>
  runHotPathBench({
    durationSeconds: quick ? 2 : 3,
    warmupSeconds: quick ? 1 : 3,
    rounds: quick ? 1 : 3,
    ...(compareMainJs ? { compareMainJs } : {}),
  }),
);
await section('b', () =>
  runHpaClientsBench({
    keys: hpas ?? 10_000,
    periodSeconds: 15,
    measureSeconds: quick ? 10 : 30,
    ...(compareMainJs ? { compareMainJs } : {}),
    ...(cpuProfileDir ? { cpuProfileDir } : {}),
    helperThreads: gcHelpers,
    runtime: adapterRuntime(adapterNode),
  }),
);
await section('c', () => runCacheMemoryBench(50_000));
await section('d', () => runPrometheusBench());
await section('e', () => runCloudWatchBatchingBench());
await section('f', () => runSelectorInformersBench({ rounds: quick ? 5 : 50 }));
await section('g', () =>
  runUpstreamsBench({
    requests: quick ? 500 : 3000,
    durationSeconds: quick ? 2 : 5,
    warmupSeconds: quick ? 1 : 2,
    connections: 16,
  }),
);
await section('h', async () => runDiscoveryBench([10, 1000], quick ? 10_000 : 50_000));
await section('i', async () => runRegexpBench(quick ? [16, 20, 24] : [20, 22, 24, 26, 28], [39, 1000, 10_000]));
await section('j', () =>
  runHpaRefreshBench({
    keys: hpas ?? 2_000,
    periodSeconds: 15,
    measureSeconds: quick ? 15 : 60,
    ...(compareMainJs ? { compareMainJs } : {}),
    ...(cpuProfileDir ? { cpuProfileDir } : {}),
    runtime: adapterRuntime(adapterNode),
  }),
);
await section('k', () =>
  runResourceMetricsBench({ rounds: quick ? 10 : 100, ...(compareMainJs ? { compareMainJs } : {}) }),
);
await section('l', () => runDefinitionsBench({ quick, ...(compareMainJs ? { compareMainJs } : {}) }));

const finishedAt = new Date();
const report = {
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  quick,
  machine: {
    node: process.version,
    cpus: cpus().length,
    pinned: canPin() ? { servers: 'CPU 0', loadGenerator: `CPU ${LOAD_CPU}` } : 'no (taskset or a second CPU missing)',
    loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
  },
  commit: gitCommit(),
  results,
  errors,
};
const file = new URL(`./results/${basicIsoTimestamp(startedAt)}.json`, import.meta.url);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);

console.log(formatTable(summaryRows(results, errors)));
console.log(
  `\nload average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')} at start, ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at end; full results: ${file.pathname}`,
);
process.exit(Object.keys(errors).length === 0 ? 0 : 1);

function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows.reduce<number[]>((acc, row) => row.map((cell, i) => Math.max(acc[i] ?? 0, cell.length)), []);
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join(' │ ')
      .trimEnd();
  const [header, ...body] = rows;
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  return [line(header ?? []), rule, ...body.map(line)].join('\n');
}

/** ISO 8601 basic format (20261127T011500Z): sortable, and no colons in file names. */
function basicIsoTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
