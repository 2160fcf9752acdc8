import { ApiError } from '../api/errors.js';
import { formatGroupResource, type GroupResource, sameGroupResource } from '../api/resources.js';
import type {
  CustomMetricByNameRequest,
  CustomMetricBySelectorRequest,
  CustomMetricInfo,
  CustomMetricsProvider,
  ExternalMetricInfo,
  ExternalMetricRequest,
  ExternalMetricsProvider,
  ExternalSample,
  MetricsBackend,
  ObjectSample,
  Sample,
} from './provider.js';

/**
 * Presents several backends as one provider: a request goes to the first backend (in config
 * order) that announces the metric. The HTTP layer only ever sees this router.
 */
export class BackendRouter implements CustomMetricsProvider, ExternalMetricsProvider {
  constructor(private backends: readonly MetricsBackend[]) {}

  /** Swaps in the backends of a reloaded config; returns the old ones for the caller to close. */
  replaceBackends(next: readonly MetricsBackend[]): readonly MetricsBackend[] {
    const previous = this.backends;
    this.backends = next;
    return previous;
  }

  get current(): readonly MetricsBackend[] {
    return this.backends;
  }

  listCustomMetrics(): CustomMetricInfo[] {
    return dedupe(
      this.backends.flatMap((b) => b.custom?.listCustomMetrics() ?? []),
      (m) => `${formatGroupResource(m.resource)}/${m.metric}`,
    );
  }

  listExternalMetrics(): ExternalMetricInfo[] {
    return dedupe(
      this.backends.flatMap((b) => b.external?.listExternalMetrics() ?? []),
      (m) => m.metric,
    );
  }

  getMetricByName(request: CustomMetricByNameRequest): Promise<Sample> {
    return this.customFor(request.object.resource, request.metric).getMetricByName(request);
  }

  getMetricBySelector(request: CustomMetricBySelectorRequest): Promise<readonly ObjectSample[]> {
    return this.customFor(request.resource, request.metric).getMetricBySelector(request);
  }

  /** Whether a backend announces the external metric; upstreams take only metrics none of ours serves. */
  servesExternal(metric: string): boolean {
    return this.externalBackendFor(metric) !== undefined;
  }

  servesCustom(resource: GroupResource, metric: string): boolean {
    return this.customBackendFor(resource, metric) !== undefined;
  }

  getExternalMetric(request: ExternalMetricRequest): Promise<readonly ExternalSample[]> {
    const backend = this.externalBackendFor(request.metric);
    if (!backend?.external) {
      throw ApiError.notFound(
        `external metric "${request.metric}" is not served by any configured backend (see /apis/external.metrics.k8s.io/v1beta1 for the served metrics)`,
      );
    }
    return backend.external.getExternalMetric(request);
  }

  private externalBackendFor(metric: string): MetricsBackend | undefined {
    return this.backends.find((b) => b.external?.listExternalMetrics().some((m) => m.metric === metric));
  }

  private customBackendFor(resource: GroupResource, metric: string): MetricsBackend | undefined {
    return this.backends.find((b) =>
      b.custom?.listCustomMetrics().some((m) => m.metric === metric && sameGroupResource(m.resource, resource)),
    );
  }

  private customFor(resource: GroupResource, metric: string): CustomMetricsProvider {
    const backend = this.customBackendFor(resource, metric);
    if (!backend?.custom) {
      throw ApiError.notFound(
        `custom metric "${metric}" for resource "${formatGroupResource(resource)}" is not served by any configured backend (see /apis/custom.metrics.k8s.io/v1beta2 for the served metrics)`,
      );
    }
    return backend.custom;
  }
}

function dedupe<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
