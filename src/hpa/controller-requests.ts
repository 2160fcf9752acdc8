// The metrics API requests the HPA controller makes for the metrics of an HPA, as its clients in
// k8s.io/metrics build them (custom_metrics/versioned_client.go, external_metrics/client.go):
// empty selectors are left out of the query, objects are named by their group-qualified resource.
// One derivation for `explain hpa` (which sends them) and HPA-aware refresh (which keeps their
// answers fresh in the cache, so the key a refresh loads is the key the controller's poll reads).

import { ApiError } from '../api/errors.js';
import type { GroupResource } from '../api/group-resource.js';
import type { ResourceResolver } from '../api/resource-table.js';
import { formatGroupKind, formatGroupResource, type KindReference, resourceOfKind } from '../api/resources.js';
import { type LabelSelector, selectorFromMeta } from '../api/selector.js';
import { type HpaMetric, type HpaMetricFields, type HpaObjectReference, hpaMetricOf } from '../kube/hpa-informer.js';

/** One request, with what a provider takes to answer it (the same namespace, object or selector and metric selector). */
export type ControllerRequest =
  | {
      readonly kind: 'external';
      readonly namespace: string;
      readonly metric: string;
      readonly metricSelector: LabelSelector;
    }
  | {
      readonly kind: 'object';
      readonly namespace: string;
      readonly metric: string;
      readonly resource: GroupResource;
      readonly name: string;
      readonly metricSelector: LabelSelector;
    }
  | {
      readonly kind: 'pods';
      readonly namespace: string;
      readonly metric: string;
      /** Whose pods: the controller sends the `status.selector` of this target's scale subresource. */
      readonly target: HpaObjectReference;
      readonly metricSelector: LabelSelector;
    };

/** Why no request is made for a metric (a Resource metric, a kind no resource serves, an invalid selector). */
export interface NoRequest {
  readonly kind: 'none';
  readonly why: string;
}

/** The request the controller makes for one metric of an HPA in `namespace` scaling `scaleTarget`. */
export function controllerRequest(
  namespace: string,
  scaleTarget: HpaObjectReference,
  spec: HpaMetric,
  resources: ResourceResolver,
): ControllerRequest | NoRequest {
  const metric = spec.metric.name;
  let metricSelector: LabelSelector;
  try {
    metricSelector = selectorFromMeta(spec.metric.selector);
  } catch (error) {
    // An invalid metric selector: the controller cannot make the request either.
    if (error instanceof ApiError) return { kind: 'none', why: error.message };
    throw error;
  }
  if (spec.type === 'External') return { kind: 'external', namespace, metric, metricSelector };
  if (spec.type === 'Pods') return { kind: 'pods', namespace, metric, target: scaleTarget, metricSelector };
  const found = resourceOfKind(spec.describedObject, resources);
  if (!found) {
    const kind = formatGroupKind(spec.describedObject);
    return { kind: 'none', why: `unable to map kind ${kind} to a resource: not in ${resources.source}` };
  }
  const resource = { group: found.group, resource: found.resource };
  return { kind: 'object', namespace, metric, resource, name: spec.describedObject.name, metricSelector };
}

/** The request for a metric spec as the API serves it, Resource metrics and specs without their type's field included. */
export function controllerRequestOfSpec(
  namespace: string,
  scaleTarget: KindReference & { readonly name: string },
  spec: HpaMetricFields,
  resources: ResourceResolver,
): ControllerRequest | NoRequest {
  const metric = hpaMetricOf(spec);
  const target = { apiVersion: scaleTarget.apiVersion ?? '', kind: scaleTarget.kind, name: scaleTarget.name };
  if (metric) return controllerRequest(namespace, target, metric, resources);
  if (spec.type === 'Resource' || spec.type === 'ContainerResource') {
    return { kind: 'none', why: 'resource metrics come from metrics.k8s.io, which explain hpa does not read' };
  }
  return {
    kind: 'none',
    why: `the ${spec.type} metric has no ${spec.type.charAt(0).toLowerCase()}${spec.type.slice(1)} field`,
  };
}

export interface PathOptions {
  /** The custom metrics group-version the controller's discovery picks (the preferred one). Default v1beta2. */
  readonly customVersion?: string;
  /**
   * The scale target's pod selector, for a Pods metric. Without it the path names the target
   * instead: the same read for every poll of that HPA (HPA-aware refresh keys its reads so).
   */
  readonly podSelector?: string;
}

/** The URL the controller asks for the request; two HPAs making the same request share it. */
export function requestPath(request: ControllerRequest, options: PathOptions = {}): string {
  const namespace = encodeURIComponent(request.namespace);
  const metric = encodeURIComponent(request.metric);
  const metricSelector = request.metricSelector.toString();
  if (request.kind === 'external') {
    return `/apis/external.metrics.k8s.io/v1beta1/namespaces/${namespace}/${metric}${queryOf({ labelSelector: metricSelector })}`;
  }
  const custom = `/apis/custom.metrics.k8s.io/${options.customVersion ?? 'v1beta2'}/namespaces/${namespace}`;
  if (request.kind === 'object') {
    const object = `${formatGroupResource(request.resource)}/${encodeURIComponent(request.name)}`;
    return `${custom}/${object}/${metric}${queryOf({ metricLabelSelector: metricSelector })}`;
  }
  const { target } = request;
  const labelSelector = options.podSelector ?? `<selector of ${target.apiVersion}/${target.kind}/${target.name}>`;
  return `${custom}/pods/*/${metric}${queryOf({ labelSelector, metricLabelSelector: metricSelector })}`;
}

/**
 * A request as sent, in the text its URL carries: what `explain hpa` prints and writes with `-o json`.
 */
export type SentRequest = {
  readonly kind: ControllerRequest['kind'];
  readonly path: string;
  readonly namespace: string;
  readonly metric: string;
  readonly metricSelector: string;
  /** `services`, `deployments.apps` (Object metrics). */
  readonly resource?: string;
  readonly name?: string;
  /** Pods metrics. */
  readonly podSelector?: string;
};

export function sentRequest(request: ControllerRequest, options: PathOptions): SentRequest {
  const { kind, namespace, metric } = request;
  const sent = { kind, path: requestPath(request, options), namespace, metric };
  const metricSelector = request.metricSelector.toString();
  if (request.kind === 'object') {
    return { ...sent, resource: formatGroupResource(request.resource), name: request.name, metricSelector };
  }
  if (request.kind === 'pods') return { ...sent, podSelector: options.podSelector ?? '', metricSelector };
  return { ...sent, metricSelector };
}

function queryOf(params: Record<string, string>): string {
  const present = Object.entries(params).filter(([, value]) => value !== '');
  return present.length === 0 ? '' : `?${new URLSearchParams(present).toString()}`;
}
