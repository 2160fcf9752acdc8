import { CUSTOM_GROUP, EXTERNAL_GROUP } from '../../api/groups.js';
import type { ApiResource, DiscoverySource } from '../../api/legacy-discovery.js';
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
  const custom = convertedList(customResource);
  const external = convertedList(externalResource);
  return {
    resources(group: string): readonly ApiResource[] {
      if (group === CUSTOM_GROUP) return custom(provider.listCustomMetrics());
      if (group === EXTERNAL_GROUP) return external(provider.listExternalMetrics());
      return [];
    },
  };
}

/** Converts a metric list, handing out the last result again for the same list, and the same resource for the same entry. */
function convertedList<T extends object>(
  toResource: (info: T) => ApiResource,
): (list: readonly T[]) => readonly ApiResource[] {
  const converted = new WeakMap<T, ApiResource>();
  let last: { list: readonly T[]; resources: readonly ApiResource[] } | undefined;
  return (list) => {
    if (last?.list === list) return last.resources;
    const resources = list.map((info) => {
      let resource = converted.get(info);
      if (!resource) {
        resource = toResource(info);
        converted.set(info, resource);
      }
      return resource;
    });
    last = { list, resources };
    return resources;
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
