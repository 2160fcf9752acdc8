import type { GroupResource } from '../api/group-resource.js';
import type { ResourceResolver } from '../api/resource-table.js';
import { formatGroupResource } from '../api/resources.js';
import { type LabelSelector, selectorFromMeta } from '../api/selector.js';
import type { HpaMetric, HpaObjectReference, HpaSummary } from '../kube/hpa-informer.js';

/**
 * One metrics API read the HPA controller makes for a metric of an HPA, as its clients in
 * k8s.io/metrics build it: the same namespace, metric, object or selector and metric selector a
 * request for that URL gives the router, so the backend resolves it to the same cache key.
 */
export type HpaRead =
  | { kind: 'external'; namespace: string; metric: string; metricSelector: LabelSelector }
  | {
      kind: 'object';
      namespace: string;
      resource: GroupResource;
      name: string;
      metric: string;
      metricSelector: LabelSelector;
    }
  | {
      kind: 'pods';
      namespace: string;
      /** Whose pods: the controller reads the scale target's `status.selector` for the object selector. */
      target: HpaObjectReference;
      metric: string;
      metricSelector: LabelSelector;
    };

/** A metric of an HPA for which no read is derived, and why (said in logs, not fatal). */
export interface SkippedMetric {
  metric: string;
  why: string;
}

/** The reads an HPA's metrics make; Resource metrics are not ours and never reach here. */
export function readsOfHpa(
  hpa: HpaSummary,
  resources: ResourceResolver,
): { reads: HpaRead[]; skipped: SkippedMetric[] } {
  const reads: HpaRead[] = [];
  const skipped: SkippedMetric[] = [];
  for (const metric of hpa.metrics) {
    try {
      const read = readOf(hpa, metric, resources);
      if (typeof read === 'string') skipped.push({ metric: metric.metric.name, why: read });
      else reads.push(read);
    } catch (error) {
      skipped.push({ metric: metric.metric.name, why: (error as Error).message });
    }
  }
  return { reads, skipped };
}

function readOf(hpa: HpaSummary, spec: HpaMetric, resources: ResourceResolver): HpaRead | string {
  const { namespace } = hpa;
  const metric = spec.metric.name;
  const metricSelector = selectorFromMeta(spec.metric.selector);
  if (spec.type === 'External') return { kind: 'external', namespace, metric, metricSelector };
  if (spec.type === 'Pods') return { kind: 'pods', namespace, target: hpa.scaleTargetRef, metric, metricSelector };
  const resource = resourceOfKind(spec.describedObject, resources);
  if (!resource) return `no resource of kind ${groupKind(spec.describedObject)} is served (${resources.source})`;
  return { kind: 'object', namespace, resource, name: spec.describedObject.name, metric, metricSelector };
}

/** The resource of a kind, as the controller's RESTMapper maps an object reference. */
export function resourceOfKind(ref: HpaObjectReference, resources: ResourceResolver): GroupResource | undefined {
  const group = groupOf(ref.apiVersion);
  const found = resources.list().find((r) => r.kind === ref.kind && r.group === group);
  return found && { group: found.group, resource: found.resource };
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

function groupKind(ref: HpaObjectReference): string {
  const group = groupOf(ref.apiVersion);
  return group === '' ? ref.kind : `${ref.kind}.${group}`;
}

/**
 * The URL the controller asks for this read (external.metrics.k8s.io v1beta1, custom v1beta2),
 * also what two HPAs that make the same read share: one refresh serves both.
 */
export function readPath(read: HpaRead, podSelector = '<target selector>'): string {
  const ns = encodeURIComponent(read.namespace);
  const metric = encodeURIComponent(read.metric);
  const metricSelector = read.metricSelector.toString();
  if (read.kind === 'external') {
    return `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns}/${metric}${query({ labelSelector: metricSelector })}`;
  }
  const custom = `/apis/custom.metrics.k8s.io/v1beta2/namespaces/${ns}`;
  if (read.kind === 'object') {
    const resource = formatGroupResource(read.resource);
    return `${custom}/${resource}/${encodeURIComponent(read.name)}/${metric}${query({ metricLabelSelector: metricSelector })}`;
  }
  const target = `${read.target.apiVersion}/${read.target.kind}/${read.target.name}`;
  const selector = podSelector === '<target selector>' ? `${podSelector} of ${target}` : podSelector;
  return `${custom}/pods/*/${metric}${query({ labelSelector: selector, metricLabelSelector: metricSelector })}`;
}

function query(params: Record<string, string>): string {
  const present = Object.entries(params).filter(([, value]) => value !== '');
  return present.length === 0 ? '' : `?${new URLSearchParams(present).toString()}`;
}
