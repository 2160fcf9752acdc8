import { type Response, Router } from 'express';
import { ApiError } from '../../api/errors.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP, SERVED_GROUPS, type ServedGroup } from '../../api/groups.js';
import { formatGroupResource } from '../../api/resources.js';
import type { CustomMetricsProvider, ExternalMetricsProvider } from '../../providers/provider.js';

/**
 * Discovery documents. The aggregator checks `/apis/<group>/<version>` for every APIService
 * and marks it unavailable (stopping every HPA that uses it) when this is slow or failing,
 * so these handlers only read the providers' in-memory metric lists.
 */
export function createDiscoveryRouter(provider: CustomMetricsProvider & ExternalMetricsProvider): Router {
  const router = Router({ strict: false });

  router.get('/apis', (_req, res) => {
    sendJson(res, { kind: 'APIGroupList', apiVersion: 'v1', groups: SERVED_GROUPS.map(apiGroup) });
  });

  router.get('/apis/:group', (req, res) => {
    const group = findGroup(req.params.group);
    sendJson(res, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) });
  });

  router.get('/apis/:group/:version', (req, res) => {
    const group = findGroup(req.params.group);
    const version = req.params.version;
    if (!group.versions.includes(version)) throw notServed(`${group.name}/${version}`);
    const resources = group.name === CUSTOM_GROUP ? customResources(provider) : externalResources(provider);
    sendJson(res, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group.name}/${version}`, resources });
  });

  return router;
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

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Answers with `body` as JSON, through node's own response API: express's send() would look the
 * type up, then parse and re-format it to add the charset, on every metrics request. Node leaves
 * the body out of HEAD answers by itself.
 */
export function sendJson(res: Response, body: unknown, status = 200): void {
  const json = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}
