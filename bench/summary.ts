import type { CacheMemoryResult } from './cache-memory.js';
import type { DefinitionsBenchResult } from './definitions.js';
import type { DiscoveryBenchResult } from './discovery.js';
import type { HotPathResult } from './hot-path.js';
import type { HpaClientsResult, PhaseResult } from './hpa-clients.js';
import { hpaRefreshRows } from './hpa-refresh-summary.js';
import type { RegexpBenchResult } from './regexp.js';
import type { ResourceMetricsBenchResult } from './resource-metrics.js';
import type { SelectorInformersResult } from './selector-informers.js';
import type { LoadResult } from './support/autocannon-run.js';
import { mark, type Row } from './support/summary-row.js';
import type { UpstreamsBenchResult } from './upstreams.js';

interface PrometheusBenchResult {
  case: string;
  adapter: { p50Ms: number; p95Ms: number };
  prometheusDirect: { p50Ms: number; p95Ms: number };
  overheadMs: { p50: number };
}

interface CloudWatchBenchResult {
  results: {
    requests: number;
    goalCalls: number;
    callsWindow5ms: number;
    callsWindow0ms: number;
    addedMedianLatencyMs: number;
  }[];
}

export function summaryRows(results: Record<string, unknown>, errors: Record<string, string>): Row[] {
  const rows: Row[] = [['section', 'measure', 'result', 'goal']];
  const add = (name: string, build: (result: never) => Row[]) => {
    if (errors[name]) rows.push([name, 'FAILED', firstLine(errors[name]), '']);
    else if (results[name] !== undefined) rows.push(...build(results[name] as never));
  };
  add('a', hotPathRows);
  add('b', hpaClientsRows);
  add('c', cacheMemoryRows);
  add('d', prometheusRows);
  add('e', cloudWatchRows);
  add('f', selectorInformersRows);
  add('g', upstreamsRows);
  add('h', discoveryRows);
  add('i', regexpRows);
  add('j', hpaRefreshRows);
  add('k', resourceMetricsRows);
  add('l', definitionsRows);
  return rows;
}

function hotPathRows(r: HotPathResult): Row[] {
  const at = (name: string) => r.results[name] as LoadResult;
  const compared = r.results.adapterCompared;
  return [
    ['(a) cached hit', `adapter, HTTPS, ${r.connections} connections`, load(at('adapter')), ''],
    ...(compared && r.ratios.vsComparedBuild
      ? [
          ['(a)', 'adapter, --compare-build', load(compared), ''] as Row,
          [
            '(a)',
            'this build ÷ --compare-build',
            `throughput ${r.ratios.vsComparedBuild.throughput}×, p99 ${r.ratios.vsComparedBuild.p99}×, CPU/request ${r.ratios.vsComparedBuild.cpuPerRequest}×`,
            'report',
          ] as Row,
        ]
      : []),
    ['(a)', 'express 5 route, same bytes', load(at('expressRoute')), ''],
    ['(a)', 'bare node:https, same bytes', load(at('nodeHttps')), ''],
    ['(a)', 'Prometheus, same PromQL (HTTP)', load(at('prometheusDirect')), ''],
    [
      '(a)',
      'adapter ÷ express',
      `throughput ${r.ratios.throughputVsExpress}×, p99 ${r.ratios.p99VsExpress}×, CPU/request ${r.ratios.cpuPerRequestVsExpress}×`,
      `≥ 0.8× ${mark(r.goals.throughputVsExpressAtLeast08)}, p99 ≤ 1.5× ${mark(r.goals.p99VsExpressAtMost15)}`,
    ],
    ['(a)', 'adapter ÷ node:https', `throughput ${r.ratios.throughputVsNodeHttps}×`, 'report'],
    [
      '(a)',
      'adapter ÷ Prometheus, gauge sum',
      `throughput ${r.ratios.throughputVsPrometheus}×`,
      `≥ 5× ${mark(r.goals.throughputVsPrometheusAtLeast5)}`,
    ],
    ['(a)', 'adapter, rate[2m] over 100 series', load(at('adapterRateQuery')), ''],
    ['(a)', 'Prometheus, same rate PromQL', load(at('prometheusRateQuery')), ''],
    [
      '(a)',
      'adapter ÷ Prometheus, rate[2m]',
      `throughput ${r.ratios.rateQueryThroughputVsPrometheus}×`,
      `≥ 5× ${mark(r.goals.rateQueryThroughputVsPrometheusAtLeast5)}`,
    ],
    ['(a)', 'adapter, one pod’s custom metric by name', load(at('adapterObjectMetric')), ''],
    ['(a)', 'custom by name ÷ external gauge', `throughput ${r.ratios.objectMetricThroughputVsExternal}×`, 'report'],
  ];
}

function load(result: LoadResult): string {
  const cpu = result.serverCpuMicrosPerRequest === undefined ? '' : `, ${result.serverCpuMicrosPerRequest} µs CPU/req`;
  return `${result.requestsPerSecond} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms${cpu}`;
}

function hpaClientsRows(r: HpaClientsResult): Row[] {
  const rows: Row[] = [
    [`(b) ${r.keys} HPAs`, 'the adapter runs on', r.adapterNode, ''],
    ...hpaClientsBuildRows(r, '(b)'),
  ];
  if (r.baseline && r.ratios) {
    rows.push(...hpaClientsBuildRows(r.baseline, `(b) baseline ${r.baseline.build}`));
    rows.push([
      '(b)',
      'this build ÷ baseline, same run',
      `adapter CPU per request ${r.ratios.adapterCpuPerRequest}×, p99 ${r.ratios.p99}×, backend calls/min ${r.ratios.backendCallsPerMinute}×`,
      '',
    ]);
  }
  return rows;
}

function hpaClientsBuildRows(r: HpaClientsResult, name: string): Row[] {
  const phase = (p: PhaseResult) =>
    `${p.requestsPerSecond} req/s, p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms, ${p.failures} failed`;
  const c = r.cache;
  const loop = r.adapterLoop;
  return [
    [name, `first ${r.periodSeconds} s (fills the cache)`, phase(r.fill), ''],
    ['(b)', `next ${r.measured.seconds} s`, phase(r.measured), `p99 < 20 ms ${mark(r.measured.p99Ms < 20)}`],
    [
      '(b)',
      'backend calls per minute',
      `${r.backendCallsPerMinute} (hits ${c.hits}, misses ${c.misses}, coalesced ${c.coalesced}, stale ${c.stale}, stale while revalidating ${c.staleWhileRevalidate ?? 0})`,
      `≤ keys×4 = ${r.expectedBackendCallsPerMinute} ${mark(r.backendCallsPerMinute <= r.expectedBackendCallsPerMinute * 1.02)}`,
    ],
    [
      '(b)',
      'CPU used (share of one core)',
      `adapter ${r.cpuPercent.adapter ?? '?'} % (${r.adapterCpuMsPerRequest ?? '?'} ms per request), Prometheus ${r.cpuPercent.prometheus ?? '?'} %`,
      '',
    ],
    [
      '(b)',
      'event-loop delay, measured part',
      `adapter p99 ${loop.delayMs.p99} ms, max ${loop.delayMs.max} ms (GC ${loop.gcMs.major} ms major, ${loop.gcMs.minor} ms minor); load generator p99 ${r.measured.clientLoopDelayMs.p99} ms, max ${r.measured.clientLoopDelayMs.max} ms`,
      '',
    ],
  ];
}

function cacheMemoryRows(r: CacheMemoryResult): Row[] {
  return [
    [
      '(c) 50,000 entries',
      'RSS / heap used, before → after',
      `RSS ${r.rssMiB.before} → ${r.rssMiB.after} MiB, heap ${r.heapUsedMiB.before} → ${r.heapUsedMiB.after} MiB`,
      '',
    ],
    [
      '(c)',
      'bytes per entry',
      `heap ${r.heapBytesPerEntry}, RSS ${r.rssBytesPerEntry}, cache's estimate ${r.estimatedBytesPerEntry} (${r.estimateVsHeap}× heap)`,
      'report',
    ],
  ];
}

function prometheusRows(r: PrometheusBenchResult): Row[] {
  return [
    [
      '(d) uncached',
      r.case,
      `adapter p50 ${r.adapter.p50Ms} ms / Prometheus p50 ${r.prometheusDirect.p50Ms} ms (+${r.overheadMs.p50} ms)`,
      'report',
    ],
  ];
}

function cloudWatchRows(r: CloudWatchBenchResult): Row[] {
  return r.results.map(
    (size, i): Row => [
      i === 0 ? '(e) CloudWatch' : '(e)',
      `${size.requests} metrics at once`,
      `${size.callsWindow5ms} GetMetricData calls (window 0: ${size.callsWindow0ms}), +${size.addedMedianLatencyMs} ms median`,
      `${size.goalCalls} calls ${mark(size.callsWindow5ms <= size.goalCalls)}`,
    ],
  );
}

function discoveryRows(r: DiscoveryBenchResult): Row[] {
  return r.cases.map(
    (c, i): Row => [
      i === 0 ? '(h) availability check' : '(h)',
      `${c.metrics} metrics announced, ${c.bodyBytes} B, backends down`,
      `${c.probeMicros} µs per answer (${c.probeVsBaseline}× serialising it per request); ${c.afterChangeMicros} µs after a change`,
      `< 1000 µs ${mark(c.probeMicros < 1000)}`,
    ],
  );
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').slice(0, 100);
}

function selectorInformersRows(r: SelectorInformersResult): Row[] {
  const latency = (l: { p50Ms: number; p99Ms: number }) => `p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms`;
  const where = `${r.pods} pods, ${r.hpas} HPAs, HTTPS`;
  return [
    [
      '(f) selector, LIST per request',
      where,
      `${latency(r.listing.selector)}; ${r.listing.listCallsPerMinute} LIST/min at 15 s polls`,
      'baseline',
    ],
    [
      '(f) selector, watched',
      where,
      `${latency(r.watching.selector)}; ${r.watching.listCallsPerMinute} LIST/min after sync`,
      '0 LIST/min',
    ],
    ['(f)', 'same HPAs, one pod by name', latency(r.watching.byName), ''],
    [
      '(f)',
      'selector ÷ by name',
      `p50 ${r.watching.selectorVsByName.p50}×, p99 ${r.watching.selectorVsByName.p99}×`,
      '≤ 1.2×',
    ],
    [
      '(f)',
      `heap per pod held (${r.heap.pods} pods)`,
      `${r.heap.bytesPerPod} B (RSS ${r.heap.rssBytesPerPod} B)`,
      '≤ 1 KiB',
    ],
  ];
}

function upstreamsRows(r: UpstreamsBenchResult): Row[] {
  const s = r.sequential;
  return [
    [
      '(g) upstream',
      `one at a time, kept-alive, ${s.requests} each`,
      `direct p50 ${s.direct.p50Ms} / p99 ${s.direct.p99Ms} ms, forwarded p50 ${s.forwarded.p50Ms} / p99 ${s.forwarded.p99Ms} ms`,
      '',
    ],
    ['(g)', 'added by forwarding', `p50 +${s.addedMs.p50} ms, p99 +${s.addedMs.p99} ms`, '≤ 1 ms p50'],
    ['(g)', `direct, ${r.load.connections} connections`, load(r.load.direct), ''],
    ['(g)', `forwarded, ${r.load.connections} connections`, load(r.load.forwarded), ''],
    ['(g)', 'forwarded ÷ direct throughput', `${r.load.throughputRatio}×`, 'report'],
  ];
}

function regexpRows(r: RegexpBenchResult): Row[] {
  const at = (rows: { length: number; ms: number }[]) => rows.map((row) => `${row.length}: ${row.ms}`).join(', ');
  const [first, last] = r.growth.lengths;
  return [
    ['(i) pattern', `${r.pattern}, RegExp, ms by name length`, at(r.backtracking), 'baseline'],
    ['(i)', `${r.pattern}, RE2, ms by name length`, at(r.re2), ''],
    [
      '(i)',
      `time at ${last} ÷ time at ${first} characters`,
      `RegExp ${r.growth.backtracking}×, RE2 ${r.growth.re2}×`,
      'RE2 ≤ 1× (no blow-up)',
    ],
  ];
}

function resourceMetricsRows(r: ResourceMetricsBenchResult): Row[] {
  return r.builds.flatMap((b, i): Row[] =>
    (['all', 'oneNamespace'] as const).map((shape): Row => {
      const s = b[shape];
      return [
        i === 0 ? '(k) metrics.k8s.io' : '(k) --compare-build',
        `${s.pods} pods (${shape === 'all' ? 'top pod -A' : 'one namespace'})`,
        `${s.cold.queriesPerRequest} queries/request; cold p50 ${s.cold.p50Ms} ms p99 ${s.cold.p99Ms} ms (${s.cold.vsPrometheus.p50}× Prometheus direct); cached p50 ${s.cached.p50Ms} ms p99 ${s.cached.p99Ms} ms, ${s.cached.cpuMsPerRequest} ms CPU (${s.cached.vsCustomMetrics.cpu}× custom metrics); heap held ${Math.round(b.heapHeldBytes / 2 ** 20)} MiB`,
        `2 queries/request ${mark(s.cold.queriesPerRequest === 2)}`,
      ];
    }),
  );
}

function definitionsRows(r: DefinitionsBenchResult): Row[] {
  const rows: Row[] = [
    [
      '(l) definitions',
      `heap per definition (${r.definitions} in ${r.namespaces} namespaces)`,
      `${r.heap.heapBytesPerDefinition} B (${r.heap.ratioToRawObject}× its watch JSON)`,
      '',
    ],
  ];
  for (const [i, b] of r.builds.entries()) {
    const label = i === 0 ? '(l)' : '(l) --compare-build';
    const c = b.createToServedMs;
    rows.push(
      [
        label,
        `create → served beside ${c.heldBefore} (load ${b.loadAverage})`,
        `p50 ${c.p50} ms p99 ${c.p99} ms; adapter CPU ${c.adapterCpuMsPerCreate ?? '?'} ms per create`,
        `p99 ≤ ${c.goalMs} ms ${mark(c.p99 <= c.goalMs)}`,
      ],
      [
        label,
        'cached read: definition ÷ config rule',
        `p50 ${b.cachedReadMs.ratioP50}× p99 ${b.cachedReadMs.ratioP99}×`,
        `≤ ${b.cachedReadMs.goal}× ${mark(b.cachedReadMs.ratioP50 <= b.cachedReadMs.goal)}`,
      ],
      [
        label,
        'status writes per minute, steady',
        String(b.statusWrites.steadyWritesPerMinute),
        `0 ${mark(b.statusWrites.steadyWritesPerMinute === 0)}`,
      ],
    );
  }
  return rows;
}
