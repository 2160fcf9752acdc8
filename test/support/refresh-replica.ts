import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { parseSelector } from '../../src/api/selector.js';
import { parseConfig } from '../../src/config/load.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { createHpaWatch, type HpaWatch } from '../../src/kube/hpa-watch.js';
import { type ClosableKubeClient, createKubeClient } from '../../src/kube/index.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import { HpaRefresher, type RefreshLeadership } from '../../src/refresh/hpa-refresher.js';
import { type RunningBackends, startBackends } from '../../src/startup/backends.js';
import { metricValue } from '../cache/fakes.js';
import { capturingLogger } from './capturing-logger.js';

/** One External metric, queue_depth{queue}, over Prometheus's broker_queue_depth, cached 2 s: the Lease tests' config. */
export const QUEUE_DEPTH_CONFIG = `
externalRules:
- seriesQuery: '{__name__="broker_queue_depth",queue!=""}'
  name: {as: queue_depth}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
cache:
  prometheus: { ttl: 2s, maxStale: 1m }
`;

// A poll's results; refreshes count apart (result="refresh").
const CACHE_RESULTS = ['hit', 'miss', 'stale', 'coalesced', 'negative_hit'] as const;

/** One adapter replica's HPA-aware refresh, wired as main.ts wires it, with its own registry. */
export interface RefreshReplica {
  readonly registry: Registry;
  readonly log: ReturnType<typeof capturingLogger>;
  readonly backends: RunningBackends;
  readonly refresher: HpaRefresher;
  /** An External metric's poll as the HPA controller makes it: how the cache answered it, and the value. */
  poll(queue: string, metric?: string): Promise<{ result: string; value?: number }>;
  /** Any poll: how the Prometheus cache answered it (the result counter that moved), and the answer. */
  polled<T extends object>(ask: () => Promise<T>): Promise<{ result: string } & T>;
  /** hpa_metrics_adapter_hpa_refreshes_total of this replica, every outcome. */
  refreshes(): Promise<number>;
  close(): Promise<void>;
}

export interface RefreshReplicaOptions {
  /** A kubeconfig for the kube-apiserver double. */
  kubeconfigPath: string;
  config: string;
  prometheusUrl: string;
  leadership?: RefreshLeadership;
}

/** Fast timings for tests: ticks every 50 ms, reloads 500 ms before expiry, retries after 200 ms. */
export async function startRefreshReplica(options: RefreshReplicaOptions): Promise<RefreshReplica> {
  const registry = new Registry();
  const log = capturingLogger();
  const loaded = loadKubeConfig(options.kubeconfigPath);
  assert.ok(loaded);
  const kube: ClosableKubeClient = createKubeClient(loaded.kubeConfig);
  const backends = await startBackends(parseConfig(options.config, 'test.yaml'), {
    flags: { prometheusUrl: options.prometheusUrl },
    logger: log.logger,
    registry,
    kube,
  });
  const watch: HpaWatch = createHpaWatch(loaded.kubeConfig, {
    logger: log.logger,
    resources: BUILTIN_RESOURCES,
    timings: { forbiddenRetryMs: 50, backoffInitialMs: 20, backoffMaxMs: 100 },
  });
  watch.start();
  const refresher = new HpaRefresher({
    hpas: watch,
    provider: backends.router,
    resources: BUILTIN_RESOURCES,
    targetSelector: watch.targetSelector,
    ...(options.leadership ? { leadership: options.leadership } : {}),
    logger: log.logger,
    registry,
    tickMs: 50,
    // Nearly half the 2 s TTL: a refresh due at 1.1 s has 850 ms (less a tick) to finish before the
    // value expires, so a unit run starved of CPU for half a second (nice 10 beside the end-to-end
    // run) still finds every kept read fresh. With 500 ms it had ~450 ms.
    minLeadMs: 900,
    retryMs: 200,
  });
  refresher.start();

  async function results(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const result of CACHE_RESULTS) {
      out[result] = await metricValue(registry, 'hpa_metrics_adapter_cache_requests_total', {
        backend: 'prometheus',
        result,
      });
    }
    return out;
  }

  async function polled<T extends object>(ask: () => Promise<T>): Promise<{ result: string } & T> {
    const before = await results();
    const answer = await ask();
    const after = await results();
    const result = Object.keys(after).find((r) => (after[r] ?? 0) > (before[r] ?? 0)) ?? 'none';
    return { result, ...answer };
  }

  return {
    registry,
    log,
    backends,
    refresher,
    polled,
    poll: (queue, metric = 'queue_depth') =>
      polled(async (): Promise<{ value?: number }> => {
        try {
          const samples = await backends.router.getExternalMetric({
            namespace: 'default',
            metric,
            metricSelector: parseSelector(`queue=${queue}`),
            deadline: deadlineOf(AbortSignal.timeout(5_000)),
          });
          const value = samples[0]?.value;
          return value === undefined ? {} : { value };
        } catch {
          return {};
        }
      }),
    async refreshes() {
      let total = 0;
      for (const outcome of ['success', 'not_found', 'error']) {
        total += await metricValue(registry, 'hpa_metrics_adapter_hpa_refreshes_total', { outcome });
      }
      return total;
    },
    async close() {
      await refresher.close();
      await watch.close();
      await backends.close();
      kube.close();
    },
  };
}
