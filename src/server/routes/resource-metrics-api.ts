import type { Request, Response } from 'express';
import { ApiError } from '../../api/errors.js';
import { isResourceMetricsVersion, RESOURCE_METRICS_GROUP } from '../../api/groups.js';
import {
  type NodeUsage,
  nodeMetrics,
  nodeMetricsList,
  type PodUsage,
  podMetrics,
  podMetricsList,
} from '../../api/resource-metrics.js';
import { clip } from '../../lib/text.js';
import type { ResourceMetricsReader, ResourceMetricsSource } from '../../resource-metrics/provider.js';
import type { Authorizer } from '../auth/types.js';
import { notFoundPath, parseResourceMetricsPath, type ResourceMetricsPath } from '../request/parse-metric-path.js';
import { type MetricQuery, parseMetricQuery } from '../request/query.js';
import { queryStringOf } from '../request/query-string.js';
import { RequestDeadline } from '../request/request-deadline.js';
import { RenderedBodies, type RenderedJson } from '../respond/rendered-bodies.js';
import { sendRenderedJson } from '../respond/send-json.js';
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
  const bodies = new VersionedBodies();
  return async (req, res, route) => {
    const { version } = route;
    if (!isResourceMetricsVersion(version)) throw notFoundPath(req.path);
    if (options.authorizer) await authorize(options.authorizer, res, RESOURCE_METRICS_GROUP, version, route.rest);
    const path = parseResourceMetricsPath(route.rest, req.path);
    const query = parseMetricQuery(queryStringOf(req));
    // The route was found while the group was served: a reload may have removed it since.
    const reader = options.source.current();
    if (!reader) throw notFoundPath(req.path);
    const deadline = new RequestDeadline(req, options.requestTimeoutMs);
    try {
      sendRenderedJson(res, await read(reader, version, path, query, deadline, bodies));
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
  bodies: VersionedBodies,
): Promise<RenderedJson> {
  if (path.name !== undefined && query.fieldName !== undefined && query.fieldName !== path.name) {
    throw ApiError.badRequest(
      `fieldSelector metadata.name=${clip(query.fieldName)} does not match the object "${path.name}" in the path`,
    );
  }
  const name = path.name ?? query.fieldName;
  const request = { selector: query.labelSelector, deadline, ...(name === undefined ? {} : { name }) };
  if (path.resource === 'nodes') {
    const nodes = await reader.nodes(request);
    if (path.name === undefined) return bodies.of('NodeMetricsList', version, nodes, nodeMetricsList);
    if (!nodes[0]) throw notFound('nodemetrics', path.name, 'node');
    return bodies.of('NodeMetrics', version, nodes, (v, [node]) => nodeMetrics(v, node as NodeUsage));
  }
  const pods = await reader.pods({
    ...request,
    ...(path.namespace === undefined ? {} : { namespace: path.namespace }),
  });
  if (path.name === undefined) return bodies.of('PodMetricsList', version, pods, podMetricsList);
  if (!pods[0]) throw notFound('podmetrics', `${path.namespace}/${path.name}`, 'pod');
  return bodies.of('PodMetrics', version, pods, (v, [pod]) => podMetrics(v, pod as PodUsage));
}

/**
 * The bodies rendered from a reader's answers, one RenderedBodies per kind and version: a kept
 * answer (see ResourceMetricsReader) is rendered once while it is kept, and a list asked in v1
 * and in v1beta1 keeps both bodies.
 */
class VersionedBodies {
  private readonly byKind = new Map<string, RenderedBodies<readonly object[]>>();

  of<T extends object>(
    kind: string,
    version: string,
    answer: readonly T[],
    render: (version: string, answer: readonly T[]) => unknown,
  ): RenderedJson {
    const key = `${kind}/${version}`;
    let bodies = this.byKind.get(key);
    if (!bodies) {
      bodies = new RenderedBodies();
      this.byKind.set(key, bodies);
    }
    return bodies.get(answer, version, (source) => render(version, source as readonly T[]));
  }
}

/** metrics-server's words, then why: kubectl prints the message as it is. */
function notFound(resource: string, name: string, kind: string): ApiError {
  return ApiError.notFound(
    `${resource}.${RESOURCE_METRICS_GROUP} "${name}" not found: no such ${kind}, or Prometheus has no usage for it yet (resourceRules)`,
  );
}
