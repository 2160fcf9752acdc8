import { clip } from '../lib/text.js';
import { ApiError } from './errors.js';
import type { GroupResource } from './group-resource.js';
import type { ResourceInfo, ResourceResolver } from './resource-table.js';

export interface ResourceKind {
  kind: string;
  /** `group/version`, or `/v1` style for core as the HPA's Go client writes it (`"/v1"`). */
  apiVersion: string;
  namespaced: boolean;
}

const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GROUP_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const MAX_RESOURCE_TEXT = 253;

/**
 * A resource named in a request (`pods`, `Pod`, `deployments.apps`, `rollouts.argoproj.io`), as
 * the cluster serves it. Throws NotFound naming it when the cluster serves no such resource.
 */
export function resolveResource(text: string, resolver: ResourceResolver): ResourceInfo {
  checkSyntax(text);
  const found = resolver.resolve(text);
  if (!found) {
    throw ApiError.notFound(
      `resource "${text}" is not served: no resource, singular, kind or short name "${text}" in ${resolver.source}`,
    );
  }
  return found;
}

/**
 * A resource named in config: resolved like a request when the resolver knows it, else taken as
 * written (plural, lower case), since a CRD may be installed after the config is loaded.
 */
export function parseGroupResource(text: string, resolver: ResourceResolver): GroupResource {
  checkSyntax(text);
  const found = resolver.resolve(text);
  if (found) return { group: found.group, resource: found.resource };
  const lower = text.toLowerCase();
  const dot = lower.indexOf('.');
  return dot === -1
    ? { group: '', resource: pluralize(lower) }
    : { group: lower.slice(dot + 1), resource: pluralize(lower.slice(0, dot)) };
}

function checkSyntax(text: string): void {
  if (text.length === 0 || text.length > MAX_RESOURCE_TEXT) {
    throw ApiError.badRequest(`invalid resource "${clip(text, 64)}": must be 1-${MAX_RESOURCE_TEXT} characters`);
  }
  const lower = text.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot === -1 ? lower : lower.slice(0, dot);
  const group = dot === -1 ? '' : lower.slice(dot + 1);
  if (!RESOURCE_NAME.test(name) || (group !== '' && !GROUP_NAME.test(group))) {
    throw ApiError.badRequest(
      `invalid resource "${clip(text, 64)}": expected <resource>[.<group>], e.g. pods or deployments.apps`,
    );
  }
}

export function formatGroupResource(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

export function sameGroupResource(a: GroupResource, b: GroupResource): boolean {
  return a.group === b.group && a.resource === b.resource;
}

/** Kind, apiVersion and scope of a resource; one the resolver does not know gets a derived kind at v1. */
export function kindFor(gr: GroupResource, resolver: ResourceResolver): ResourceKind {
  const found = resolver.find(gr);
  if (found) return { kind: found.kind, apiVersion: `${found.group}/${found.version}`, namespaced: found.namespaced };
  return { kind: deriveKind(gr.resource), apiVersion: `${gr.group}/v1`, namespaced: true };
}

/** An object named by kind, as an HPA names its scale target or an Object metric's described object. */
export interface KindReference {
  /** `apps/v1`, `v1`; empty or absent for the core group. */
  readonly apiVersion?: string | null;
  readonly kind: string;
}

/** The group of an apiVersion: `apps` of `apps/v1`, '' of `v1`. */
export function groupOfApiVersion(apiVersion: string | null | undefined): string {
  const text = apiVersion ?? '';
  const slash = text.indexOf('/');
  return slash === -1 ? '' : text.slice(0, slash);
}

/** The resource that serves a kind in the reference's group, as the HPA controller's RESTMapper maps it. */
export function resourceOfKind(ref: KindReference, resolver: ResourceResolver): ResourceInfo | undefined {
  const group = groupOfApiVersion(ref.apiVersion);
  return resolver.list().find((r) => r.kind === ref.kind && r.group === group);
}

/** `Deployment.apps`, `Service`: a kind with its group, for messages. */
export function formatGroupKind(ref: KindReference): string {
  const group = groupOfApiVersion(ref.apiVersion);
  return group === '' ? ref.kind : `${ref.kind}.${group}`;
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
