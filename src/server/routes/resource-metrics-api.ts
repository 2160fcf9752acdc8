import type { Request, Response } from 'express';
import { ApiError } from '../../api/errors.js';
import { isResourceMetricsVersion, RESOURCE_METRICS_GROUP } from '../../api/groups.js';
import { nodeMetrics, nodeMetricsList, podMetrics, podMetricsList } from '../../api/resource-metrics.js';
import { clip } from '../../lib/text.js';
import type { ResourceMetricsReader, ResourceMetricsSource } from '../../resource-metrics/provider.js';
import type { Authorizer } from '../auth/types.js';
import { notFoundPath, parseResourceMetricsPath, type ResourceMetricsPath } from '../request/parse-metric-path.js';
import { type MetricQuery, parseMetricQuery } from '../request/query.js';
import { queryStringOf } from '../request/query-string.js';
import { RequestDeadline } from '../request/request-deadline.js';
import { sendJson } from '../respond/send-json.js';
import { authorize } from './metrics-api.js';

export interface ResourceMetricsApiOptions {
  source: ResourceMetricsSource;
  /** Absent when running standalone (authorization off). */
  authorizer?: Authorizer;
  requestTimeoutMs: number;
}

/** A metrics.k8s.io URL: its version and the decoded path segments after `/apis/metrics.k8s.io/<version>/`. */
export interface ResourceMetricsRoute {
  version: string;
  rest: readonly string[];
}

/**
 * metrics.k8s.io reads (`kubectl top`, the HPA's Resource metrics): get and list of NodeMetrics and
 * PodMetrics, with labelSelector and fieldSelector=metadata.name, in v1 and v1beta1 alike.
 */
export function createResourceMetricsRead(
  options: ResourceMetricsApiOptions,
): (req: Request, res: Response, route: ResourceMetricsRoute) => Promise<void> {
  return async (req, res, route) => {
    const { version } = route;
    if (!isResourceMetricsVersion(version)) throw notFoundPath(req.path);
    if (options.authorizer) await authorize(options.authorizer, res, RESOURCE_METRICS_GROUP, version, route.rest);
    const path = parseResourceMetricsPath(route.rest, req.path);
    const query = parseMetricQuery(queryStringOf(req));
    const reader = options.source.current();
    if (!reader) {
      throw ApiError.unavailable(
        'metrics.k8s.io is not served by the running configuration: it has no resourceRules (a reload removed them)',
      );
    }
    const deadline = new RequestDeadline(req, options.requestTimeoutMs);
    try {
      sendJson(res, await read(reader, version, path, query, deadline));
    } catch (error) {
      throw deadline.failure(error);
    } finally {
      deadline.dispose();
    }
  };
}

async function read(
  reader: ResourceMetricsReader,
  version: string,
  path: ResourceMetricsPath,
  query: MetricQuery,
  deadline: RequestDeadline,
): Promise<object> {
  if (path.name !== undefined && query.fieldName !== undefined && query.fieldName !== path.name) {
    throw ApiError.badRequest(
      `fieldSelector metadata.name=${clip(query.fieldName)} does not match the object "${path.name}" in the path`,
    );
  }
  const name = path.name ?? query.fieldName;
  const request = { selector: query.labelSelector, deadline, ...(name === undefined ? {} : { name }) };
  if (path.resource === 'nodes') {
    const nodes = await reader.nodes(request);
    if (path.name === undefined) return nodeMetricsList(version, nodes);
    const [node] = nodes;
    if (!node) throw notFound('nodemetrics', path.name, 'node');
    return nodeMetrics(version, node);
  }
  const pods = await reader.pods({
    ...request,
    ...(path.namespace === undefined ? {} : { namespace: path.namespace }),
  });
  if (path.name === undefined) return podMetricsList(version, pods);
  const [pod] = pods;
  if (!pod) throw notFound('podmetrics', `${path.namespace}/${path.name}`, 'pod');
  return podMetrics(version, pod);
}

/** metrics-server's words, then why: kubectl prints the message as it is. */
function notFound(resource: string, name: string, kind: string): ApiError {
  return ApiError.notFound(
    `${resource}.${RESOURCE_METRICS_GROUP} "${name}" not found: no such ${kind}, or Prometheus has no usage for it yet (resourceRules)`,
  );
}
