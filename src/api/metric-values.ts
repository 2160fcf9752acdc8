import { ApiError } from './errors.js';
import { CUSTOM_GROUP, type CustomVersion, EXTERNAL_GROUP } from './groups.js';
import { formatQuantity } from './quantity.js';
import type { ResourceInfo } from './resource-table.js';
import { type LabelSelector, toMatchLabelsSelector } from './selector.js';

/** The JSON bodies the HPA controller's Go clients decode, built from plain samples. */

export interface ObjectReference {
  kind: string;
  namespace?: string;
  name: string;
  apiVersion: string;
}

export interface DescribedSample {
  object: { resource: ResourceInfo; namespace?: string; name: string };
  value: number;
  timestamp: Date;
  windowSeconds?: number;
}

export function describedObject(resource: ResourceInfo, name: string, namespace?: string): ObjectReference {
  const { kind } = resource;
  // `/v1` for the core group: what the HPA's Go client writes, and compares with.
  const apiVersion = `${resource.group}/${resource.version}`;
  return namespace === undefined ? { kind, name, apiVersion } : { kind, namespace, name, apiVersion };
}

export function customMetricValueList(
  version: CustomVersion,
  metric: string,
  metricSelector: LabelSelector,
  samples: readonly DescribedSample[],
): object {
  const selector = metricSelector.isEmpty() ? null : toMatchLabelsSelector(metricSelector);
  const items = samples.map((s) => {
    const base = describedObject(s.object.resource, s.object.name, s.object.namespace);
    const value = quantityOf(s.value, metric);
    const timestamp = rfc3339(s.timestamp);
    if (version === 'v1beta1') {
      return {
        describedObject: base,
        metricName: metric,
        timestamp,
        ...(s.windowSeconds ? { window: s.windowSeconds } : {}),
        value,
        // v1beta1's Go type has no omitempty on selector: the HPA expects an explicit null.
        selector,
      };
    }
    return {
      describedObject: base,
      metric: selector ? { name: metric, selector } : { name: metric },
      timestamp,
      ...(s.windowSeconds ? { windowSeconds: s.windowSeconds } : {}),
      value,
    };
  });
  return { kind: 'MetricValueList', apiVersion: `${CUSTOM_GROUP}/${version}`, metadata: {}, items };
}

export interface ExternalItem {
  labels: Record<string, string>;
  value: number;
  timestamp: Date;
  windowSeconds?: number;
}

export function externalMetricValueList(metric: string, samples: readonly ExternalItem[]): object {
  const items = samples.map((s) => ({
    metricName: metric,
    metricLabels: s.labels,
    timestamp: rfc3339(s.timestamp),
    ...(s.windowSeconds ? { window: s.windowSeconds } : {}),
    value: quantityOf(s.value, metric),
  }));
  return { kind: 'ExternalMetricValueList', apiVersion: `${EXTERNAL_GROUP}/v1beta1`, metadata: {}, items };
}

/** Kubernetes metav1.Time: RFC 3339 in UTC with second precision. */
export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function quantityOf(value: number, metric: string): string {
  if (!Number.isFinite(value)) {
    // Providers must turn NaN/Inf into an error or a configured fallback; reaching here is a bug.
    throw ApiError.internal(`metric "${metric}" produced a non-finite value (${value})`);
  }
  // Backend arithmetic leaves float noise (0.1 + 0.2 = 0.30000000000000004) that Go's
  // ParseQuantity rounds *up* at nano precision, so the HPA would read 301m for 300m. Fifteen
  // significant digits drop that noise and keep every digit a backend meant.
  return formatQuantity(Number(value.toPrecision(15)));
}
