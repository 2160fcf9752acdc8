import type { ServedGroup } from './groups.js';

/**
 * Legacy discovery: the documents client-go reads from `/apis`, `/apis/<group>` and
 * `/apis/<group>/<version>` when it asks for plain JSON, built from what discovery sources
 * announce. Pure functions; the HTTP layer renders and serves them.
 */

/** One entry of an APIResourceList (`metav1.APIResource`). A `/` in `name` makes it a subresource. */
export interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: readonly string[];
}

/**
 * Something that announces resources in our group-versions: the metrics backends, and later
 * other adapters' discovery merged into ours. Called on every discovery request, so it answers
 * from memory. It hands out the same resource objects while nothing changed: discovery renders
 * its documents again only when an element differs from the previous answer.
 */
export interface DiscoverySource {
  resources(group: string, version: string): readonly ApiResource[];
}

/**
 * Client-go treats a group-version without resources as a failed discovery ("received empty
 * response for: external.metrics.k8s.io/v1beta1"): kubectl api-resources exits 1, operators fail
 * to start and namespace deletion can stall. So every group-version always lists this resource.
 * It holds no metric; reading it answers 404 (README, troubleshooting).
 */
export const PLACEHOLDER_RESOURCE = 'discovery-placeholder';

export function placeholderResource(kind: string): ApiResource {
  return { name: PLACEHOLDER_RESOURCE, singularName: PLACEHOLDER_RESOURCE, namespaced: true, kind, verbs: ['get'] };
}

/** The resources of one group-version: every source's, first announcement of a name kept, then the placeholder (if any). */
export function mergeResources(
  announced: readonly (readonly ApiResource[])[],
  placeholder: ApiResource | undefined,
): readonly ApiResource[] {
  const seen = new Set<string>();
  const merged: ApiResource[] = [];
  for (const resource of placeholder ? [...announced.flat(), placeholder] : announced.flat()) {
    if (seen.has(resource.name)) continue;
    seen.add(resource.name);
    merged.push(resource);
  }
  return merged;
}

export function apiGroupList(groups: readonly ServedGroup[]) {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupEntry) };
}

export function apiGroup(group: ServedGroup) {
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) };
}

export function apiResourceList(group: string, version: string, resources: readonly ApiResource[]) {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`, resources };
}

function groupEntry(group: ServedGroup) {
  const versions = group.versions.map((version) => ({ groupVersion: `${group.name}/${version}`, version }));
  return { name: group.name, versions, preferredVersion: versions[0] };
}
