import type { Request, Response } from 'express';
import { BUILTIN_RESOURCES } from '../src/api/builtin-resources.js';
import type { MetricsBackend } from '../src/providers/provider.js';
import { BackendRouter } from '../src/providers/router.js';
import { createApisHandler } from '../src/server/routes/apis.js';
import { round } from './support/stats.js';

/**
 * (h) The APIService availability check: kube-apiserver GETs `/apis/<group>/<version>` five at a
 * time every 30 s and marks the APIService unavailable (every HPA on it stops) when that is slow.
 * The work of one answer, in process, through the whole `/apis` handler, while every backend call
 * hangs (an outage), beside what building the answer per request would cost: serialising the same
 * document. Also the first answer after the metric list changed, which renders the document again.
 */

export interface DiscoveryBenchResult {
  cases: {
    metrics: number;
    bodyBytes: number;
    /** Microseconds of work per probe answer, documents unchanged. */
    probeMicros: number;
    /** JSON.stringify of the same document: the least an answer built per request costs. */
    baselineMicros: number;
    probeVsBaseline: number;
    /** The first answer after the backends' metric list changed. */
    afterChangeMicros: number;
  }[];
}

class NullResponse {
  statusCode = 200;
  body = '';
  setHeader(): this {
    return this;
  }
  end(body?: string): this {
    this.body = body ?? '';
    return this;
  }
}

function hangingBackend(metrics: number): { backend: MetricsBackend; change(): void } {
  let external = Array.from({ length: metrics }, (_, i) => ({ metric: `queue-depth-${i}` }));
  let custom = Array.from({ length: metrics }, (_, i) => ({
    resource: { group: '', resource: 'pods' },
    metric: `http_requests_${i}`,
    namespaced: true,
  }));
  const hang = () => new Promise<never>(() => {});
  return {
    backend: {
      name: 'down',
      custom: {
        getMetricByName: hang,
        getMetricBySelector: hang,
        listCustomMetrics: () => custom,
        servesCustom: () => false,
      },
      external: { getExternalMetric: hang, listExternalMetrics: () => external, servesExternal: () => false },
    },
    change() {
      external = [...external];
      custom = [...custom];
    },
  };
}

function microsPer(iterations: number, run: () => void): number {
  for (let i = 0; i < Math.min(iterations, 2000); i++) run();
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return round(Number(process.hrtime.bigint() - started) / 1000 / iterations, 3);
}

export function runDiscoveryBench(
  metricCounts: readonly number[] = [10, 1000],
  iterations = 50_000,
): DiscoveryBenchResult {
  const cases = metricCounts.map((metrics) => {
    const { backend, change } = hangingBackend(metrics);
    const handler = createApisHandler({
      provider: new BackendRouter([backend]),
      requestTimeoutMs: 5000,
      resources: BUILTIN_RESOURCES,
    });
    const path = '/apis/external.metrics.k8s.io/v1beta1';
    const req = { url: path, path, headers: { accept: 'application/json, */*' } } as unknown as Request;
    const answer = (res: NullResponse) => handler.serve(req, res as unknown as Response, handler.route(req));
    const probe = () => answer(new NullResponse());
    const sample = new NullResponse();
    answer(sample);
    const document: unknown = JSON.parse(sample.body);
    const baseline = () => JSON.stringify(document);
    const probeMicros = microsPer(iterations, probe);
    const baselineMicros = microsPer(Math.max(200, iterations / Math.max(1, metrics / 10)), baseline);
    const changes = Math.max(20, Math.floor(iterations / Math.max(1, metrics)));
    const afterChangeMicros = microsPer(changes, () => {
      change();
      probe();
    });
    return {
      metrics,
      bodyBytes: Buffer.byteLength(sample.body),
      probeMicros,
      baselineMicros,
      probeVsBaseline: round(probeMicros / baselineMicros),
      afterChangeMicros,
    };
  });
  return { cases };
}
