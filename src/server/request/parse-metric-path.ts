import { ApiError } from '../../api/errors.js';
import type { ResourceInfo, ResourceResolver } from '../../api/resource-table.js';
import { resolveResource } from '../../api/resources.js';
import { clip } from '../../lib/text.js';

/** A custom-metrics URL, decoded: which object(s) and which metric. */
export interface CustomMetricPath {
  /** As the cluster serves it: an unknown resource is a NotFound here already. */
  resource: ResourceInfo;
  namespace?: string;
  /** undefined means `*`: every object matching labelSelector. */
  name?: string;
  metric: string;
}

export interface ExternalMetricPath {
  namespace: string;
  metric: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const OBJECT_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.:]*[A-Za-z0-9])?$/;
const METRIC_NAME = /^[A-Za-z0-9_:]([-A-Za-z0-9_.:|]*[A-Za-z0-9_:])?$/;

/**
 * Parses the part of a custom-metrics path after `/apis/custom.metrics.k8s.io/<version>/`, as
 * decoded segments (decodePathSegments).
 *   {resource}/{name|*}/{metric}                      root-scoped objects
 *   namespaces/{ns}/metrics/{metric}                  the namespace object itself
 *   namespaces/{ns}/{resource}/{name|*}/{metric}      namespaced objects
 */
export function parseCustomMetricPath(
  segments: readonly string[],
  fullPath: string,
  resources: ResourceResolver,
): CustomMetricPath {
  const parts = segments;
  if (parts.length === 3) {
    const [resourceText, name, metric] = parts as [string, string, string];
    return { resource: resolveResource(resourceText, resources), ...objectName(name), metric: metricName(metric) };
  }
  if (parts.length === 4 && parts[0] === 'namespaces' && parts[2] === 'metrics') {
    const namespace = namespaceName(parts[1] as string);
    return {
      resource: resolveResource('namespaces', resources),
      name: namespace,
      metric: metricName(parts[3] as string),
    };
  }
  if (parts.length === 5 && parts[0] === 'namespaces') {
    const [, ns, resourceText, name, metric] = parts as [string, string, string, string, string];
    return {
      resource: resolveResource(resourceText, resources),
      namespace: namespaceName(ns),
      ...objectName(name),
      metric: metricName(metric),
    };
  }
  throw notFoundPath(fullPath);
}

/** Parses the part of an external-metrics path after `/apis/external.metrics.k8s.io/v1beta1/`, as decoded segments. */
export function parseExternalMetricPath(parts: readonly string[], fullPath: string): ExternalMetricPath {
  if (parts.length === 3 && parts[0] === 'namespaces') {
    return { namespace: namespaceName(parts[1] as string), metric: metricName(parts[2] as string) };
  }
  throw notFoundPath(fullPath);
}

/** A metrics.k8s.io path: `nodes[/{name}]`, `pods` (every namespace), `namespaces/{ns}/pods[/{name}]`. */
export type ResourceMetricsPath =
  | { resource: 'nodes'; name?: string }
  | { resource: 'pods'; namespace?: string; name?: string };

/** Parses the part of a metrics.k8s.io path after `/apis/metrics.k8s.io/<version>/`, as decoded segments. */
export function parseResourceMetricsPath(parts: readonly string[], fullPath: string): ResourceMetricsPath {
  const [first, second, third, fourth] = parts;
  if (first === 'nodes' && parts.length <= 2) return { resource: 'nodes', ...singleName(second) };
  if (first === 'pods' && parts.length === 1) return { resource: 'pods' };
  if (first === 'namespaces' && second !== undefined && third === 'pods' && parts.length <= 4) {
    return { resource: 'pods', namespace: namespaceName(second), ...singleName(fourth) };
  }
  throw notFoundPath(fullPath);
}

function singleName(name: string | undefined): { name?: string } {
  if (name === undefined) return {};
  if (name === '*') throw ApiError.badRequest('invalid object name "*": name one object, or list without a name');
  return objectName(name);
}

export function notFoundPath(fullPath: string): ApiError {
  return ApiError.notFound(`the server could not find the requested resource (path ${clip(fullPath)})`);
}

function objectName(name: string): { name?: string } {
  if (name === '*') return {};
  if (name.length > 253 || !OBJECT_NAME.test(name)) {
    throw ApiError.badRequest(`invalid object name "${clip(name)}": must be a Kubernetes object name or *`);
  }
  return { name };
}

function namespaceName(ns: string): string {
  if (ns.length > 63 || !DNS_LABEL.test(ns)) {
    throw ApiError.badRequest(`invalid namespace "${clip(ns)}": must be a DNS label (lower case, digits, -)`);
  }
  return ns;
}

function metricName(metric: string): string {
  if (metric.length > 253 || !METRIC_NAME.test(metric)) {
    throw ApiError.badRequest(`invalid metric name "${clip(metric)}"`);
  }
  return metric;
}
