import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { BUILTIN_RESOURCES } from '../src/api/builtin-resources.js';
import { parseConfig } from '../src/config/load.js';
import { silentLogger } from '../src/observability/logger.js';
import { createAdapterMetrics } from '../src/observability/metrics.js';
import { createPrometheusBackend } from '../src/providers/prometheus/backend.js';
import { resolvePrometheusSettings } from '../src/providers/prometheus/settings.js';
import { BackendRouter } from '../src/providers/router.js';
import { createApp } from '../src/server/app.js';
import { alignedQueryTime, counter, type SeriesSpec, startPrometheus } from '../test/support/prometheus-server.js';

/**
 * The adapter's latency for an uncached custom metric (HTTP request → rule → PromQL → Prometheus
 * → MetricValueList) against the same PromQL sent straight to Prometheus, in one run with both
 * measured alternately, so the difference is what the adapter adds. Plain HTTP on both sides.
 */

const PODS = 50;
const SERIES_PER_POD = 4;
const WARMUP = 50;
const ROUNDS = 500;

const RULES = `
rules:
- seriesQuery: '{__name__="http_requests_total",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: "^(.*)_total$", as: "\${1}_per_second"}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
`;

interface Latency {
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
}

export async function runPrometheusBench(): Promise<object> {
  const T = alignedQueryTime();
  const series: SeriesSpec[] = [];
  for (let pod = 0; pod < PODS; pod++) {
    for (let i = 0; i < SERIES_PER_POD; i++) {
      series.push(
        counter('http_requests_total', { namespace: 'default', pod: `web-${pod}`, path: `/p${i}` }, 1 + pod, {
          end: T,
        }),
      );
    }
  }
  const prometheus = await startPrometheus({ series });
  const settings = resolvePrometheusSettings(parseConfig(RULES, 'bench').prometheus, { prometheusUrl: prometheus.url });
  if (!settings) throw new Error('bench config enables no Prometheus backend');
  const backend = await createPrometheusBackend(settings, {
    logger: silentLogger(),
    registry: new Registry(),
    cache: { fetch: (_key, load, caller) => load(caller.deadline.signal) },
    now: () => new Date(T * 1000),
  });
  await backend.start?.();
  const app = createApp({
    provider: new BackendRouter([backend]),
    resources: BUILTIN_RESOURCES,
    metrics: createAdapterMetrics(new Registry(), false),
    logger: silentLogger(),
    readiness: { isReady: () => true },
    version: { version: 'bench', gitCommit: 'bench' },
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const adapterUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-7/http_requests_per_second`;
  const promql = 'sum(rate(http_requests_total{namespace="default",pod="web-7"}[2m])) by (pod)';
  const directUrl = `${prometheus.url}/api/v1/query?${new URLSearchParams({ query: promql, time: T.toFixed(3) })}`;
  try {
    const adapter: number[] = [];
    const direct: number[] = [];
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      const a = await timedGet(adapterUrl, agent);
      const d = await timedGet(directUrl, agent);
      if (round >= WARMUP) {
        adapter.push(a);
        direct.push(d);
      }
    }
    const viaAdapter = summarise(adapter);
    const straight = summarise(direct);
    return {
      case: `custom metric by name, uncached, ${PODS * SERIES_PER_POD} series in Prometheus`,
      rounds: ROUNDS,
      adapter: viaAdapter,
      prometheusDirect: straight,
      overheadMs: { p50: round2(viaAdapter.p50Ms - straight.p50Ms), mean: round2(viaAdapter.meanMs - straight.meanMs) },
      ratio: { p50: round2(viaAdapter.p50Ms / straight.p50Ms), mean: round2(viaAdapter.meanMs / straight.meanMs) },
    };
  } finally {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await backend.close?.();
    await prometheus.stop();
  }
}

function timedGet(url: string, agent: http.Agent): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`GET ${url} answered ${response.statusCode}`));
          else resolve(performance.now() - started);
        });
      })
      .on('error', reject);
  });
}

function summarise(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    p50Ms: round2(at(0.5)),
    p95Ms: round2(at(0.95)),
    meanMs: round2(sorted.reduce((sum, v) => sum + v, 0) / Math.max(sorted.length, 1)),
  };
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runPrometheusBench(), null, 2));
}
