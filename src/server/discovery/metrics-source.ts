import type { ApiResource, DiscoverySource } from '../../api/discovery.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP } from '../../api/groups.js';
import { formatGroupResource } from '../../api/resources.js';
import type {
  CustomMetricInfo,
  CustomMetricsProvider,
  ExternalMetricInfo,
  ExternalMetricsProvider,
} from '../../providers/provider.js';

/**
 * The metrics the backends announce, as discovery resources: custom metrics as
 * `<resource>/<metric>` in every custom version, external metrics by name. A backend keeps its
 * metric list between relists, so each entry is converted once and handed out again as the same
 * object, which lets the catalog see that nothing changed.
 */
export function metricsDiscoverySource(provider: CustomMetricsProvider & ExternalMetricsProvider): DiscoverySource {
  const converted = new WeakMap<object, ApiResource>();
  const convert = <T extends object>(info: T, toResource: (info: T) => ApiResource): ApiResource => {
    let resource = converted.get(info);
    if (!resource) {
      resource = toResource(info);
      converted.set(info, resource);
    }
    return resource;
  };
  return {
    resources(group: string): readonly ApiResource[] {
      if (group === CUSTOM_GROUP) return provider.listCustomMetrics().map((m) => convert(m, customResource));
      if (group === EXTERNAL_GROUP) return provider.listExternalMetrics().map((m) => convert(m, externalResource));
      return [];
    },
  };
}

function customResource(m: CustomMetricInfo): ApiResource {
  return {
    name: `${formatGroupResource(m.resource)}/${m.metric}`,
    singularName: '',
    namespaced: m.namespaced,
    kind: 'MetricValueList',
    verbs: ['get'],
  };
}

function externalResource(m: ExternalMetricInfo): ApiResource {
  return { name: m.metric, singularName: '', namespaced: true, kind: 'ExternalMetricValueList', verbs: ['get'] };
}
