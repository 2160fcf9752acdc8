import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { BUILTIN_RESOURCES } from '../src/api/builtin-resources.js';
import { resolveCacheSettings } from '../src/cache/config.js';
import { createQueryCache } from '../src/cache/lru-query-cache.js';
import { parseConfig } from '../src/config/load.js';
import { createKubeClient, createObjectInformers, loadKubeConfig, type ObjectLister } from '../src/kube/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { createAdapterMetrics } from '../src/observability/metrics.js';
import { createPrometheusBackend } from '../src/providers/prometheus/backend.js';
import { resolvePrometheusSettings } from '../src/providers/prometheus/settings.js';
import { BackendRouter } from '../src/providers/router.js';
import { createApp } from '../src/server/app.js';
import { createCertDir } from '../test/support/certs.js';
import { startKubeApiserverDouble } from '../test/support/kube-apiserver-double.js';
import { alignedQueryTime, counter, type SeriesSpec, startPrometheus } from '../test/support/prometheus-server.js';
import { certificateIn } from './support/adapter.js';
import { percentile, ratio, round, sortedCopy } from './support/stats.js';

/**
 * (f) A Pods metric by label selector, the HPA's most common custom metric: 1,000 pods in one
 * namespace behind the kube-apiserver double, 100 HPA-like clients each asking for its own 10
 * pods (`hpa=hN`) — against a real Prometheus, through the real cache, over HTTPS. Two adapters
 * side by side in one process: one LISTs the pods on every request (what the adapter did before
 * the informers, now metadata-only), one answers from the watched index. Reported: LIST calls
 * at the double per request and per minute at the HPA's 15 s period, p50/p99 of the selector
 * request beside the same HPA's request for one pod by name (both cache hits), and the heap
 * each held pod costs (bench/support/informer-heap.ts, a separate process with --expose-gc).
 */

const PODS = 1000;
const HPAS = 100;
const HPA_POLLS_PER_MINUTE = 4;
const CUSTOM = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods';

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

export interface LatencySummary {
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

export interface SelectorInformersResult {
  pods: number;
  hpas: number;
  rounds: number;
  listing: { selector: LatencySummary; listCallsPerRequest: number; listCallsPerMinute: number };
  watching: {
    selector: LatencySummary;
    byName: LatencySummary;
    listCallsAfterSync: number;
    listCallsPerMinute: number;
    selectorVsByName: { p50: number; p99: number };
  };
  watchingVsListing: { p50: number; p99: number };
  heap: { pods: number; bytesPerPod: number; rssBytesPerPod: number };
}

const execFileAsync = promisify(execFile);
const HEAP_SCRIPT = fileURLToPath(new URL('./support/informer-heap.ts', import.meta.url));

export async function runSelectorInformersBench(options: { rounds: number }): Promise<SelectorInformersResult> {
  const T = alignedQueryTime();
  const series: SeriesSpec[] = [];
  for (let i = 0; i < PODS; i++) {
    series.push(counter('http_requests_total', { namespace: 'default', pod: `web-${i}` }, 1 + (i % 7), { end: T }));
  }
  const prometheus = await startPrometheus({ series });
  const kube = await startKubeApiserverDouble();
  const certDir = await createCertDir('bench-selector-');
  const servers: Server[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  try {
    for (let i = 0; i < PODS; i++) {
      const hpa = i % HPAS;
      kube.watch.put({
        group: '',
        version: 'v1',
        resource: 'pods',
        namespace: 'default',
        name: `web-${i}`,
        labels: { app: 'web', hpa: `h${hpa}`, 'pod-template-hash': `7d4b9c8f${hpa}` },
      });
    }
    const loaded = loadKubeConfig(kube.kubeconfigPath);
    if (!loaded) throw new Error('the double wrote no kubeconfig');
    const certificate = await certificateIn(certDir.dir);
    const tls = { cert: await readFile(certificate.certPath), key: await readFile(certificate.keyPath) };

    const listing = createKubeClient(loaded.kubeConfig);
    closers.push(() => listing.close());
    const informers = createObjectInformers(loaded.kubeConfig, {
      logger: silentLogger(),
      registry: new Registry(),
      watchResources: ['*'],
    });
    closers.push(() => informers.close());

    const serve = async (lister: ObjectLister): Promise<string> => {
      const registry = new Registry();
      const settings = resolvePrometheusSettings(parseConfig(RULES, 'bench').prometheus, {
        prometheusUrl: prometheus.url,
      });
      if (!settings) throw new Error('bench config enables no Prometheus backend');
      const cache = createQueryCache('prometheus', resolveCacheSettings(undefined, 'prometheus'), { registry });
      closers.push(() => cache.close());
      const backend = await createPrometheusBackend(settings, {
        logger: silentLogger(),
        registry,
        cache,
        now: () => new Date(T * 1000),
        kube: lister,
      });
      await backend.start?.();
      closers.push(() => backend.close?.());
      const app = createApp({
        provider: new BackendRouter([backend]),
        resources: BUILTIN_RESOURCES,
        metrics: createAdapterMetrics(registry, false),
        logger: silentLogger(),
        readiness: { isReady: () => true },
        version: { version: 'bench', gitCommit: 'bench' },
      });
      const server = createServer(tls, app);
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `https://127.0.0.1:${(server.address() as AddressInfo).port}${CUSTOM}`;
    };
    const listingUrl = await serve(listing);
    const watchingUrl = await serve(informers);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    closers.push(() => agent.destroy());
    const selectorPath = (hpa: number) => `/*/http_requests_per_second?labelSelector=hpa%3Dh${hpa}`;
    const namePath = (hpa: number) => `/web-${hpa}/http_requests_per_second`;

    // Warm up: every cache key filled, TLS and JIT warm, the pods informer synced.
    for (let hpa = 0; hpa < HPAS; hpa++) {
      await timedGet(`${listingUrl}${selectorPath(hpa)}`, agent, 10);
      await timedGet(`${watchingUrl}${selectorPath(hpa)}`, agent, 10);
      await timedGet(`${watchingUrl}${namePath(hpa)}`, agent, 1);
    }
    const pods = { group: '', version: 'v1', resource: 'pods' };
    for (const deadline = Date.now() + 10_000; informers.informer(pods)?.health() !== 'serving'; ) {
      if (Date.now() > deadline) throw new Error('the pods informer did not sync in 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }

    const listingSelector: number[] = [];
    const watchingSelector: number[] = [];
    const watchingByName: number[] = [];
    // Apart, so the LIST-per-request adapter's garbage does not land on the other's measurements.
    let before = kube.calls.objects;
    for (let round = 0; round < options.rounds; round++) {
      for (let hpa = 0; hpa < HPAS; hpa++) {
        listingSelector.push(await timedGet(`${listingUrl}${selectorPath(hpa)}`, agent, 10));
      }
    }
    const listCallsListing = kube.calls.objects - before;
    before = kube.calls.objects;
    for (let round = 0; round < options.rounds; round++) {
      for (let hpa = 0; hpa < HPAS; hpa++) {
        watchingSelector.push(await timedGet(`${watchingUrl}${selectorPath(hpa)}`, agent, 10));
        watchingByName.push(await timedGet(`${watchingUrl}${namePath(hpa)}`, agent, 1));
      }
    }
    const listCallsWatching = kube.calls.objects - before;
    const requests = options.rounds * HPAS;
    const listingSummary = summarise(listingSelector);
    const selector = summarise(watchingSelector);
    const byName = summarise(watchingByName);
    const perRequestListing = listCallsListing / requests;
    const perRequestWatching = listCallsWatching / requests;
    return {
      pods: PODS,
      hpas: HPAS,
      rounds: options.rounds,
      listing: {
        selector: listingSummary,
        listCallsPerRequest: round(perRequestListing, 3),
        listCallsPerMinute: round(perRequestListing * HPAS * HPA_POLLS_PER_MINUTE, 1),
      },
      watching: {
        selector,
        byName,
        listCallsAfterSync: listCallsWatching,
        listCallsPerMinute: round(perRequestWatching * HPAS * HPA_POLLS_PER_MINUTE, 1),
        selectorVsByName: { p50: ratio(selector.p50Ms, byName.p50Ms), p99: ratio(selector.p99Ms, byName.p99Ms) },
      },
      watchingVsListing: {
        p50: ratio(selector.p50Ms, listingSummary.p50Ms),
        p99: ratio(selector.p99Ms, listingSummary.p99Ms),
      },
      heap: await measureHeapPerPod(50_000),
    };
  } finally {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    for (const close of closers.reverse()) await close();
    await kube.close();
    await prometheus.stop();
    await certDir.cleanup();
  }
}

async function measureHeapPerPod(pods: number): Promise<SelectorInformersResult['heap']> {
  const { stdout } = await execFileAsync(process.execPath, [
    '--expose-gc',
    '--import',
    'tsx',
    HEAP_SCRIPT,
    String(pods),
  ]);
  const report = JSON.parse(stdout) as { pods: number; heapBytes: number; rssBytes: number };
  return {
    pods: report.pods,
    bytesPerPod: round(report.heapBytes / report.pods, 0),
    rssBytesPerPod: round(report.rssBytes / report.pods, 0),
  };
}

/** One GET; rejects unless it answered 200 with `items` items. */
function timedGet(url: string, agent: Agent, items: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    request(url, { agent }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        const elapsed = performance.now() - started;
        const got = response.statusCode === 200 ? (JSON.parse(body) as { items: unknown[] }).items.length : -1;
        if (got !== items) reject(new Error(`GET ${url} answered ${response.statusCode} with ${got} items: ${body}`));
        else resolve(elapsed);
      });
    })
      .on('error', reject)
      .end();
  });
}

function summarise(samples: number[]): LatencySummary {
  const sorted = sortedCopy(samples);
  return {
    requests: samples.length,
    p50Ms: round(percentile(sorted, 0.5), 3),
    p99Ms: round(percentile(sorted, 0.99), 3),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runSelectorInformersBench({ rounds: Number(process.argv[2] ?? 20) }), null, 2));
}
