import { ApiError } from './errors.js';

/**
 * A Kubernetes resource as the custom metrics API names it in URLs: `pods`,
 * `deployments.apps`, `ingresses.networking.k8s.io`. The HPA always sends the plural,
 * lower-case form; kubectl users type `pod`, `Pod` or `deployment.apps`, so we normalise.
 */
export interface GroupResource {
  /** '' for the core group. */
  group: string;
  /** Plural, lower case. */
  resource: string;
}

export interface ResourceKind {
  kind: string;
  /** `group/version`, or `/v1` style for core as the HPA's Go client writes it (`"/v1"`). */
  apiVersion: string;
  namespaced: boolean;
}

interface KnownResource extends ResourceKind {
  group: string;
  resource: string;
  singular: string;
}

function known(
  group: string,
  resource: string,
  singular: string,
  kind: string,
  version: string,
  namespaced = true,
): KnownResource {
  return { group, resource, singular, kind, apiVersion: `${group}/${version}`, namespaced };
}

// The resources HPAs and kubectl users ask about most; anything else is derived by rule.
const KNOWN: readonly KnownResource[] = [
  known('', 'pods', 'pod', 'Pod', 'v1'),
  known('', 'services', 'service', 'Service', 'v1'),
  known('', 'namespaces', 'namespace', 'Namespace', 'v1', false),
  known('', 'nodes', 'node', 'Node', 'v1', false),
  known('', 'persistentvolumeclaims', 'persistentvolumeclaim', 'PersistentVolumeClaim', 'v1'),
  known('', 'persistentvolumes', 'persistentvolume', 'PersistentVolume', 'v1', false),
  known('', 'replicationcontrollers', 'replicationcontroller', 'ReplicationController', 'v1'),
  known('', 'endpoints', 'endpoints', 'Endpoints', 'v1'),
  known('', 'configmaps', 'configmap', 'ConfigMap', 'v1'),
  known('apps', 'deployments', 'deployment', 'Deployment', 'v1'),
  known('apps', 'statefulsets', 'statefulset', 'StatefulSet', 'v1'),
  known('apps', 'replicasets', 'replicaset', 'ReplicaSet', 'v1'),
  known('apps', 'daemonsets', 'daemonset', 'DaemonSet', 'v1'),
  known('batch', 'jobs', 'job', 'Job', 'v1'),
  known('batch', 'cronjobs', 'cronjob', 'CronJob', 'v1'),
  known('networking.k8s.io', 'ingresses', 'ingress', 'Ingress', 'v1'),
  known('autoscaling', 'horizontalpodautoscalers', 'horizontalpodautoscaler', 'HorizontalPodAutoscaler', 'v2'),
  known('policy', 'poddisruptionbudgets', 'poddisruptionbudget', 'PodDisruptionBudget', 'v1'),
];

/** The built-in resources this adapter knows kinds for, as GroupResources. */
export const KNOWN_RESOURCES: readonly GroupResource[] = KNOWN.map(({ group, resource }) => ({ group, resource }));

// Old group names kubectl users still type; the API answers for the current group.
const GROUP_ALIASES: Record<string, string> = { extensions: 'apps' };

const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GROUP_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const MAX_RESOURCE_TEXT = 253;

/** Parse `pods`, `Pod`, `deployments.apps`, `deployment.apps` into a plural group/resource. */
export function parseGroupResource(text: string): GroupResource {
  if (text.length === 0 || text.length > MAX_RESOURCE_TEXT) {
    throw ApiError.badRequest(`invalid resource "${truncate(text)}": must be 1-${MAX_RESOURCE_TEXT} characters`);
  }
  const lower = text.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot === -1 ? lower : lower.slice(0, dot);
  let group = dot === -1 ? '' : lower.slice(dot + 1);
  if (!RESOURCE_NAME.test(name) || (group !== '' && !GROUP_NAME.test(group))) {
    throw ApiError.badRequest(
      `invalid resource "${truncate(text)}": expected <resource>[.<group>], e.g. pods or deployments.apps`,
    );
  }
  group = GROUP_ALIASES[group] ?? group;
  const match = KNOWN.find(
    (k) => (k.resource === name || k.singular === name) && (group === '' ? true : k.group === group),
  );
  if (match && (group === '' || match.group === group)) {
    // A bare `deployments` is accepted as kubectl does, resolving to its only group.
    return { group: match.group, resource: match.resource };
  }
  return { group, resource: pluralize(name) };
}

export function formatGroupResource(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

export function sameGroupResource(a: GroupResource, b: GroupResource): boolean {
  return a.group === b.group && a.resource === b.resource;
}

/** Kind and apiVersion for describedObject; unknown resources get a derived kind. */
export function kindFor(gr: GroupResource): ResourceKind {
  const match = KNOWN.find((k) => k.group === gr.group && k.resource === gr.resource);
  if (match) return { kind: match.kind, apiVersion: match.apiVersion, namespaced: match.namespaced };
  return { kind: deriveKind(gr.resource), apiVersion: `${gr.group}/v1`, namespaced: true };
}

function pluralize(name: string): string {
  if (name.endsWith('s')) return name;
  if (name.endsWith('y') && !/[aeiou]y$/.test(name)) return `${name.slice(0, -1)}ies`;
  if (/(x|ch|sh)$/.test(name)) return `${name}es`;
  return `${name}s`;
}

function deriveKind(plural: string): string {
  let singular = plural;
  if (plural.endsWith('ies')) singular = `${plural.slice(0, -3)}y`;
  else if (/(xes|ches|shes|sses)$/.test(plural)) singular = plural.slice(0, -2);
  else if (plural.endsWith('s')) singular = plural.slice(0, -1);
  return singular.charAt(0).toUpperCase() + singular.slice(1);
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
