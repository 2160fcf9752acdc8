import { ApiError } from '../../api/errors.js';
import type { GroupResource } from '../../api/group-resource.js';
import { formatGroupResource } from '../../api/resources.js';
import type { ObjectLister } from '../../kube/index.js';
import { formatDuration } from '../../lib/duration.js';
import { clip } from '../../lib/text.js';
import type { CustomMetricsProvider, ExternalMetricsProvider } from '../provider.js';
import { customMetricKey } from '../provider.js';
import type { CustomEntry, Discovery } from './announced-metrics.js';
import type { MetricQueries } from './metric-queries.js';

/**
 * The provider contract over series discovery and the query part: find the announced entry
 * (NotFound when there is none), list the selected objects, and hand both to the queries.
 */
export function prometheusCustomProvider(parts: {
  discovery: () => Discovery;
  queries: MetricQueries;
  kube: ObjectLister | undefined;
  /** How long discovery keeps a series its listings no longer find, for the NotFound message. */
  holdMs: number;
}): CustomMetricsProvider {
  const { discovery, queries, kube } = parts;

  function customEntry(resource: GroupResource, metric: string): CustomEntry {
    const entry = discovery().custom.get(customMetricKey(resource, metric));
    if (!entry) {
      throw ApiError.notFound(
        `custom metric "${metric}" for ${formatGroupResource(resource)} is not announced by any Prometheus rule (no matching series listed in the last ${formatDuration(parts.holdMs)})`,
      );
    }
    return entry;
  }

  return {
    async getMetricByName(request) {
      const { object, metric } = request;
      const entry = customEntry(object.resource, metric);
      const { samples, rendered } = await queries.object(entry, request);
      const sample = samples.find((s) => s.labels[rendered.objectLabel] === object.name);
      if (!sample) {
        const who = object.namespace === undefined ? object.name : `${object.namespace}/${object.name}`;
        throw ApiError.notFound(
          `prometheus has no data for custom metric "${metric}" of ${formatGroupResource(object.resource)} "${who}" (${entry.rule.id}, query: ${clip(rendered.promql, 300)})`,
        );
      }
      // The cached sample itself: the HTTP layer keeps the body rendered from it.
      return sample;
    },

    async getMetricBySelector(request) {
      const { resource, namespace, metric } = request;
      const entry = customEntry(resource, metric);
      if (!kube) {
        // Not a 503: nothing will come back, and an HPA or a person should not wait for it to.
        throw ApiError.badRequest(
          `object listing unavailable (standalone mode): cannot resolve labelSelector "${request.objectSelector.toString()}" for ${formatGroupResource(resource)} without a Kubernetes API connection; ask for one object by name`,
        );
      }
      const version = entry.rule.resources.kindOf(resource).apiVersion.split('/')[1] ?? 'v1';
      const objects = await kube.listObjects(
        { group: resource.group, version, resource: resource.resource },
        namespace,
        request.objectSelector.toString(),
        request.deadline,
      );
      if (objects.length === 0) return [];
      return queries.selection(entry, request, objects);
    },

    listCustomMetrics: () => discovery().customList,
    servesCustom: (resource, metric) => discovery().custom.has(customMetricKey(resource, metric)),
  };
}

export function prometheusExternalProvider(parts: {
  discovery: () => Discovery;
  queries: MetricQueries;
}): ExternalMetricsProvider {
  const { discovery, queries } = parts;
  return {
    async getExternalMetric(request) {
      const entry = discovery().external.get(request.metric);
      if (!entry) {
        throw ApiError.notFound(`external metric "${request.metric}" is not announced by any Prometheus externalRule`);
      }
      // Awaited, not returned: an async function returning a promise settles a tick and a job later.
      return await queries.external(entry, request);
    },
    listExternalMetrics: () => discovery().externalList,
    servesExternal: (metric) => discovery().external.has(metric),
  };
}
