/** The API groups and versions this server speaks, and the Kubernetes kinds it returns. */
export const CUSTOM_GROUP = 'custom.metrics.k8s.io';
export const EXTERNAL_GROUP = 'external.metrics.k8s.io';

export const CUSTOM_VERSIONS = ['v1beta2', 'v1beta1'] as const;
export const EXTERNAL_VERSIONS = ['v1beta1'] as const;

export type CustomVersion = (typeof CUSTOM_VERSIONS)[number];
export type ExternalVersion = (typeof EXTERNAL_VERSIONS)[number];

export interface ServedGroup {
  name: string;
  /** Most preferred first; the aggregator and kubectl take the first as preferredVersion. */
  versions: readonly string[];
  /** What every resource of the group returns; discovery's placeholder resource names it too. */
  listKind: string;
}

export const SERVED_GROUPS: readonly ServedGroup[] = [
  { name: CUSTOM_GROUP, versions: CUSTOM_VERSIONS, listKind: 'MetricValueList' },
  { name: EXTERNAL_GROUP, versions: EXTERNAL_VERSIONS, listKind: 'ExternalMetricValueList' },
];

export function isCustomVersion(v: string): v is CustomVersion {
  return (CUSTOM_VERSIONS as readonly string[]).includes(v);
}
export function isExternalVersion(v: string): v is ExternalVersion {
  return (EXTERNAL_VERSIONS as readonly string[]).includes(v);
}
