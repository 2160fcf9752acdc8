import { BUILTIN_RESOURCES } from '../../api/builtin-resources.js';
import { ApiError } from '../../api/errors.js';
import type { GroupResource } from '../../api/group-resource.js';
import { formatGroupResource, kindFor, parseGroupResource } from '../../api/resources.js';
import type { BackendContext } from '../context.js';
import { checkNamespace } from '../namespace-access.js';
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
} from '../provider.js';
import { customMetricKey } from '../provider.js';
import type { StaticBackendConfig } from './config.js';

/**
 * Serves fixed values from the config file. Useful for trying an HPA before any backend
 * exists, for pinning a metric during an incident, and as the backend of the API tests.
 * Values carry the time the config was loaded, since that is when they were "observed".
 */
export function createStaticBackend(
  config: StaticBackendConfig,
  context: Pick<BackendContext, 'now' | 'resources'>,
): MetricsBackend {
  const resources = context.resources ?? BUILTIN_RESOURCES;
  const loadedAt = context.now();
  const custom = config.custom.map((m) => ({ ...m, groupResource: parseGroupResource(m.resource, resources) }));
  const customInfos: CustomMetricInfo[] = custom.map((m) => ({
    resource: m.groupResource,
    metric: m.metric,
    namespaced: kindFor(m.groupResource, resources).namespaced,
  }));
  const externalInfos: ExternalMetricInfo[] = config.external.map((m) => ({ metric: m.metric }));
  // The first entry of a name wins, as a list search would find it.
  const customByKey = new Map<string, (typeof custom)[number]>();
  for (const m of custom) {
    const key = customMetricKey(m.groupResource, m.metric);
    if (!customByKey.has(key)) customByKey.set(key, m);
  }
  const externalByName = new Map<string, (typeof config.external)[number] & { index: number }>();
  for (const [index, m] of config.external.entries()) {
    if (!externalByName.has(m.metric)) externalByName.set(m.metric, { ...m, index });
  }

  const findCustom = (resource: GroupResource, metric: string) => {
    const found = customByKey.get(customMetricKey(resource, metric));
    if (!found) {
      throw ApiError.notFound(`the static backend has no metric "${metric}" for ${formatGroupResource(resource)}`);
    }
    return found;
  };

  const customProvider: CustomMetricsProvider = {
    async getMetricByName(request: CustomMetricByNameRequest): Promise<Sample> {
      const metric = findCustom(request.object.resource, request.metric);
      const object = metric.objects.find(
        (o) => o.name === request.object.name && (o.namespace ?? undefined) === request.object.namespace,
      );
      if (!object) {
        const where = request.object.namespace ? ` in namespace "${request.object.namespace}"` : '';
        throw ApiError.notFound(
          `the static backend has no value of metric "${request.metric}" for ${formatGroupResource(request.object.resource)} "${request.object.name}"${where}`,
        );
      }
      return { value: object.value, timestamp: loadedAt, windowSeconds: metric.windowSeconds };
    },

    async getMetricBySelector(request: CustomMetricBySelectorRequest): Promise<ObjectSample[]> {
      const metric = findCustom(request.resource, request.metric);
      return metric.objects
        .filter((o) => (o.namespace ?? undefined) === request.namespace && request.objectSelector.matches(o.labels))
        .map((o) => ({ name: o.name, value: o.value, timestamp: loadedAt, windowSeconds: metric.windowSeconds }));
    },

    listCustomMetrics: () => customInfos,
    servesCustom: (resource, metric) => customByKey.has(customMetricKey(resource, metric)),
  };

  const externalProvider: ExternalMetricsProvider = {
    async getExternalMetric(request: ExternalMetricRequest): Promise<ExternalSample[]> {
      const metric = externalByName.get(request.metric);
      if (!metric) throw ApiError.notFound(`the static backend has no external metric "${request.metric}"`);
      checkNamespace(
        request.metric,
        request.namespace,
        metric.namespaces,
        `static.external[${metric.index}].namespaces`,
      );
      return metric.series
        .filter((s) => request.metricSelector.matches(s.labels))
        .map((s) => ({ labels: s.labels, value: s.value, timestamp: loadedAt }));
    },
    listExternalMetrics: () => externalInfos,
    servesExternal: (metric) => externalByName.has(metric),
  };

  return { name: 'static', custom: customProvider, external: externalProvider };
}
