import type { ServerResponse } from 'node:http';
import { ApiError } from '../../api/errors.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP, SERVED_GROUPS, type ServedGroup } from '../../api/groups.js';
import { formatGroupResource } from '../../api/resources.js';
import type { CustomMetricsProvider, ExternalMetricsProvider } from '../../providers/provider.js';
import { sendJson } from '../respond/send-json.js';

/**
 * Discovery documents: `/apis`, `/apis/<group>` and `/apis/<group>/<version>`, given the path
 * segments after `/apis`. The aggregator checks `/apis/<group>/<version>` for every APIService
 * and marks it unavailable (stopping every HPA that uses it) when this is slow or failing,
 * so these only read the providers' in-memory metric lists.
 */
export function answerDiscovery(
  provider: CustomMetricsProvider & ExternalMetricsProvider,
  res: ServerResponse,
  segments: readonly string[],
): void {
  const [groupName, version] = segments;
  if (groupName === undefined) {
    sendJson(res, { kind: 'APIGroupList', apiVersion: 'v1', groups: SERVED_GROUPS.map(apiGroup) });
    return;
  }
  const group = findGroup(groupName);
  if (version === undefined) {
    sendJson(res, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) });
    return;
  }
  if (!group.versions.includes(version)) throw notServed(`${group.name}/${version}`);
  const resources = group.name === CUSTOM_GROUP ? customResources(provider) : externalResources(provider);
  sendJson(res, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group.name}/${version}`, resources });
}

function customResources(provider: CustomMetricsProvider) {
  return provider.listCustomMetrics().map((m) => ({
    name: `${formatGroupResource(m.resource)}/${m.metric}`,
    singularName: '',
    namespaced: m.namespaced,
    kind: 'MetricValueList',
    verbs: ['get'],
  }));
}

function externalResources(provider: ExternalMetricsProvider) {
  return provider.listExternalMetrics().map((m) => ({
    name: m.metric,
    singularName: '',
    namespaced: true,
    kind: 'ExternalMetricValueList',
    verbs: ['get'],
  }));
}

function apiGroup(group: ServedGroup) {
  const versions = group.versions.map((version) => ({ groupVersion: `${group.name}/${version}`, version }));
  return { name: group.name, versions, preferredVersion: versions[0] };
}

function findGroup(name: string): ServedGroup {
  const group = SERVED_GROUPS.find((g) => g.name === name);
  if (!group) throw notServed(name);
  return group;
}

function notServed(what: string): ApiError {
  return ApiError.notFound(
    `the server could not find the requested resource: ${what} is not served (this adapter serves ${CUSTOM_GROUP} and ${EXTERNAL_GROUP})`,
  );
}
