import type { GroupResource } from './group-resource.js';

/** A resource as the cluster's discovery describes it, at its preferred version. */
export interface ResourceInfo extends GroupResource {
  /** The preferred version of the resource's group, e.g. `v1`, `v1alpha1`. */
  version: string;
  kind: string;
  /** Singular name, lower case; discovery may leave it empty, then the kind in lower case stands in. */
  singular: string;
  namespaced: boolean;
  shortNames: readonly string[];
}

/**
 * Names to resources, as kubectl's RESTMapper resolves them: a plural, singular, kind or short
 * name, optionally qualified by a group (`deployments.apps`, `deploy.apps`, `rollouts.argoproj.io`)
 * or by version and group (`deployments.v1.apps`). Without a group, the core group wins, then the
 * groups in discovery order.
 */
export interface ResourceResolver {
  /** Where the names come from, for messages: the cluster's discovery or the built-in table. */
  readonly source: string;
  /** undefined when no resource of that name is served. */
  resolve(text: string): ResourceInfo | undefined;
  /** The resource with exactly this group and plural. */
  find(resource: GroupResource): ResourceInfo | undefined;
  /** Every resource, core first, then groups in discovery order. The same array while nothing changed. */
  list(): readonly ResourceInfo[];
}

const VERSION = /^v\d+((alpha|beta)\d+)?$/;

/** A fixed set of resources, indexed once. */
export class ResourceTable implements ResourceResolver {
  private readonly byName = new Map<string, ResourceInfo[]>();
  private readonly byGroupResource = new Map<string, ResourceInfo>();
  private readonly resources: readonly ResourceInfo[];

  constructor(
    readonly source: string,
    resources: readonly ResourceInfo[],
  ) {
    const seen = new Set<string>();
    this.resources = resources.filter((r) => {
      const key = `${r.resource}.${r.group}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    for (const r of this.resources) {
      this.byGroupResource.set(`${r.resource}.${r.group}`, r);
      const names = new Set([r.resource, r.singular || r.kind.toLowerCase(), r.kind.toLowerCase(), ...r.shortNames]);
      for (const name of names) {
        const list = this.byName.get(name) ?? [];
        list.push(r);
        this.byName.set(name, list);
      }
    }
  }

  resolve(text: string): ResourceInfo | undefined {
    const lower = text.toLowerCase();
    const dot = lower.indexOf('.');
    const name = dot === -1 ? lower : lower.slice(0, dot);
    const candidates = this.byName.get(name);
    if (!candidates) return undefined;
    if (dot === -1) return candidates[0];
    const qualifier = lower.slice(dot + 1);
    const byGroup = candidates.find((r) => r.group === qualifier);
    if (byGroup) return byGroup;
    // `deployments.v1.apps`: version then group, as kubectl accepts it.
    const versionDot = qualifier.indexOf('.');
    const version = versionDot === -1 ? qualifier : qualifier.slice(0, versionDot);
    if (!VERSION.test(version)) return undefined;
    const group = versionDot === -1 ? '' : qualifier.slice(versionDot + 1);
    return candidates.find((r) => r.group === group && r.version === version);
  }

  find(resource: GroupResource): ResourceInfo | undefined {
    return this.byGroupResource.get(`${resource.resource}.${resource.group}`);
  }

  list(): readonly ResourceInfo[] {
    return this.resources;
  }
}
