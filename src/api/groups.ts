/** The API groups and versions this server speaks, and the Kubernetes kinds it returns. */
export const CUSTOM_GROUP = 'custom.metrics.k8s.io';
export const EXTERNAL_GROUP = 'external.metrics.k8s.io';
/** CPU and memory of pods and nodes (`kubectl top`, Resource-type HPA metrics); served only with resourceRules. */
export const RESOURCE_METRICS_GROUP = 'metrics.k8s.io';

export const CUSTOM_VERSIONS = ['v1beta2', 'v1beta1'] as const;
export const EXTERNAL_VERSIONS = ['v1beta1'] as const;
/** v1 is the GA version with v1beta1's schema; clients prefer it and fall back to v1beta1. */
export const RESOURCE_METRICS_VERSIONS = ['v1', 'v1beta1'] as const;

export type CustomVersion = (typeof CUSTOM_VERSIONS)[number];
export type ExternalVersion = (typeof EXTERNAL_VERSIONS)[number];

export interface ServedGroup {
  name: string;
  /** Most preferred first; the aggregator and kubectl take the first as preferredVersion. */
  versions: readonly string[];
  /** What every resource of the group returns; discovery's placeholder resource names it too. */
  listKind: string;
  /**
   * false when the group always lists its own resources, so discovery needs no placeholder
   * resource to keep the list from being empty.
   */
  placeholder?: false;
}

export const SERVED_GROUPS: readonly ServedGroup[] = [
  { name: CUSTOM_GROUP, versions: CUSTOM_VERSIONS, listKind: 'MetricValueList' },
  { name: EXTERNAL_GROUP, versions: EXTERNAL_VERSIONS, listKind: 'ExternalMetricValueList' },
];

export const RESOURCE_METRICS_SERVED_GROUP: ServedGroup = {
  name: RESOURCE_METRICS_GROUP,
  versions: RESOURCE_METRICS_VERSIONS,
  listKind: 'PodMetricsList',
  placeholder: false,
};

/** Every group this adapter may serve, for labels and for leaving our own groups out of the cluster's discovery. */
export const ALL_GROUPS: readonly ServedGroup[] = [...SERVED_GROUPS, RESOURCE_METRICS_SERVED_GROUP];

/**
 * The groups served while metrics.k8s.io is or is not (resourceRules in the running config): one
 * array for each state, so what discovery and OpenAPI render from it is kept per state.
 */
export function servedGroups(servesResourceMetrics: boolean): readonly ServedGroup[] {
  return servesResourceMetrics ? ALL_GROUPS : SERVED_GROUPS;
}

export function isCustomVersion(v: string): v is CustomVersion {
  return (CUSTOM_VERSIONS as readonly string[]).includes(v);
}
export function isExternalVersion(v: string): v is ExternalVersion {
  return (EXTERNAL_VERSIONS as readonly string[]).includes(v);
}
export function isResourceMetricsVersion(v: string): boolean {
  return (RESOURCE_METRICS_VERSIONS as readonly string[]).includes(v);
}
