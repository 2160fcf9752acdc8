// The metrics API requests the HPA controller makes for each metric of an HPA, as its clients in
// k8s.io/metrics build them (custom_metrics/versioned_client.go, external_metrics/client.go):
// empty selectors are left out of the query, objects are named by their group-qualified resource.

import { ApiError } from '../api/errors.js';
import type { ResourceResolver } from '../api/resource-table.js';
import type { HpaMetricSpec, HpaObjectReference } from './hpa-spec.js';
import { selectorText } from './hpa-spec.js';

export type ControllerRequest =
  | {
      readonly kind: 'pods';
      readonly path: string;
      readonly namespace: string;
      readonly metric: string;
      readonly podSelector: string;
      readonly metricSelector: string;
    }
  | {
      readonly kind: 'object';
      readonly path: string;
      readonly namespace: string;
      readonly metric: string;
      /** `services`, `deployments.apps`. */
      readonly resource: string;
      readonly name: string;
      readonly metricSelector: string;
    }
  | {
      readonly kind: 'external';
      readonly path: string;
      readonly namespace: string;
      readonly metric: string;
      readonly metricSelector: string;
    };

/** Why no request is made for a metric (a Resource metric, a kind no resource serves). */
export interface NoRequest {
  readonly kind: 'none';
  readonly why: string;
}

export interface RequestContext {
  readonly namespace: string;
  /** scale.status.selector of the target. */
  readonly podSelector: string;
  /** The custom metrics group-version the controller's discovery picks (the preferred one). */
  readonly customVersion: string;
  readonly resources: ResourceResolver;
}

export function controllerRequest(spec: HpaMetricSpec, context: RequestContext): ControllerRequest | NoRequest {
  try {
    return requestFor(spec, context);
  } catch (error) {
    // An invalid metric selector: the controller cannot make the request either.
    if (error instanceof ApiError) return { kind: 'none', why: error.message };
    throw error;
  }
}

function requestFor(spec: HpaMetricSpec, context: RequestContext): ControllerRequest | NoRequest {
  const { namespace, customVersion } = context;
  const custom = `/apis/custom.metrics.k8s.io/${customVersion}/namespaces/${encodeURIComponent(namespace)}`;
  if (spec.type === 'Pods' && spec.pods) {
    const metric = spec.pods.metric.name;
    const metricSelector = selectorText(spec.pods.metric.selector);
    const query = queryOf({ labelSelector: context.podSelector, metricLabelSelector: metricSelector });
    return {
      kind: 'pods',
      path: `${custom}/pods/*/${encodeURIComponent(metric)}${query}`,
      namespace,
      metric,
      podSelector: context.podSelector,
      metricSelector,
    };
  }
  if (spec.type === 'Object' && spec.object) {
    const metric = spec.object.metric.name;
    const { describedObject } = spec.object;
    const resource = resourceOf(describedObject, context.resources);
    if (resource === undefined) {
      return { kind: 'none', why: `unable to map kind ${groupKindOf(describedObject)} to a resource` };
    }
    const metricSelector = selectorText(spec.object.metric.selector);
    const name = describedObject.name;
    return {
      kind: 'object',
      path: `${custom}/${resource}/${encodeURIComponent(name)}/${encodeURIComponent(metric)}${queryOf({ metricLabelSelector: metricSelector })}`,
      namespace,
      metric,
      resource,
      name,
      metricSelector,
    };
  }
  if (spec.type === 'External' && spec.external) {
    const metric = spec.external.metric.name;
    const metricSelector = selectorText(spec.external.metric.selector);
    return {
      kind: 'external',
      path: `/apis/external.metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/${encodeURIComponent(metric)}${queryOf({ labelSelector: metricSelector })}`,
      namespace,
      metric,
      metricSelector,
    };
  }
  if (spec.type === 'Resource' || spec.type === 'ContainerResource') {
    return { kind: 'none', why: 'resource metrics come from metrics.k8s.io, which explain hpa does not read' };
  }
  return {
    kind: 'none',
    why: `the ${spec.type} metric has no ${spec.type.charAt(0).toLowerCase()}${spec.type.slice(1)} field`,
  };
}

/** `deployments.apps`, `services`: the group-qualified resource of a kind, as the RESTMapper maps it. */
export function resourceOf(ref: HpaObjectReference, resources: ResourceResolver): string | undefined {
  const group = groupOf(ref.apiVersion);
  const found = resources.list().find((r) => r.kind === ref.kind && r.group === group);
  if (!found) return undefined;
  return found.group === '' ? found.resource : `${found.resource}.${found.group}`;
}

export function groupOf(apiVersion: string | null | undefined): string {
  const slash = (apiVersion ?? '').indexOf('/');
  return slash === -1 ? '' : (apiVersion ?? '').slice(0, slash);
}

function groupKindOf(ref: HpaObjectReference): string {
  const group = groupOf(ref.apiVersion);
  return group === '' ? ref.kind : `${ref.kind}.${group}`;
}

function queryOf(params: Record<string, string>): string {
  const present = Object.entries(params).filter(([, value]) => value !== '');
  return present.length === 0 ? '' : `?${new URLSearchParams(present).toString()}`;
}
