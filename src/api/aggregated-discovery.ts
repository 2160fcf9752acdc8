import type { ApiResource } from './legacy-discovery.js';

/**
 * Aggregated discovery (`apidiscovery.k8s.io` v2 and v2beta1): every group, version and resource
 * in one `APIGroupDiscoveryList`, the document kube-apiserver's aggregator asks `/apis` for since
 * 1.27 and kubectl since 1.26. The two versions share one schema; only `apiVersion` differs.
 *
 * Resources are converted exactly as the aggregator converts a legacy APIResourceList it fetched
 * itself (k8s.io/apiserver's ConvertGroupVersionIntoToDiscovery), so a client sees the same thing
 * whichever way the document reached it: `pods/http_requests` becomes subresource `http_requests`
 * of a parent `pods` that has no responseKind (clients then skip the parent and keep the
 * subresource), and a top-level resource keeps its kind.
 */
export const AGGREGATED_DISCOVERY_VERSIONS = ['v2', 'v2beta1'] as const;
export type AggregatedDiscoveryVersion = (typeof AGGREGATED_DISCOVERY_VERSIONS)[number];

export interface DiscoveredGroup {
  name: string;
  /** Most preferred first, each with its resources. */
  versions: readonly { version: string; resources: readonly ApiResource[] }[];
}

interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

interface SubresourceDiscovery {
  subresource: string;
  responseKind: GroupVersionKind;
  verbs: readonly string[];
}

interface ResourceDiscovery {
  resource: string;
  responseKind: GroupVersionKind;
  scope: 'Namespaced' | 'Cluster';
  singularResource: string;
  verbs: readonly string[];
  subresources?: SubresourceDiscovery[];
}

export function aggregatedDiscovery(version: AggregatedDiscoveryVersion, groups: readonly DiscoveredGroup[]) {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groups.map((group) => ({
      metadata: { name: group.name },
      versions: group.versions.map((v) => ({
        version: v.version,
        resources: resourceDiscovery(group.name, v.version, v.resources),
        freshness: 'Current',
      })),
    })),
  };
}

function resourceDiscovery(group: string, version: string, list: readonly ApiResource[]): ResourceDiscovery[] {
  const resources: ResourceDiscovery[] = [];
  const parents = new Map<string, ResourceDiscovery>();
  for (const r of list) {
    if (r.name.includes('/')) continue;
    const resource: ResourceDiscovery = {
      resource: r.name,
      responseKind: { group, version, kind: r.kind },
      scope: scopeOf(r),
      singularResource: r.singularName,
      verbs: r.verbs,
    };
    resources.push(resource);
    parents.set(r.name, resource);
  }
  for (const r of list) {
    const slash = r.name.indexOf('/');
    if (slash === -1) continue;
    const parentName = r.name.slice(0, slash);
    let parent = parents.get(parentName);
    if (!parent) {
      // An empty kind, not an absent one: client-go 1.26.0–1.26.3 dereferences it (kubernetes#118361).
      parent = {
        resource: parentName,
        responseKind: { group: '', version: '', kind: '' },
        scope: scopeOf(r),
        singularResource: '',
        verbs: [],
      };
      resources.push(parent);
      parents.set(parentName, parent);
    }
    parent.subresources ??= [];
    parent.subresources.push({
      subresource: r.name.slice(slash + 1),
      responseKind: { group, version, kind: r.kind },
      verbs: r.verbs,
    });
  }
  return resources;
}

function scopeOf(resource: ApiResource): 'Namespaced' | 'Cluster' {
  return resource.namespaced ? 'Namespaced' : 'Cluster';
}
