import { createHash } from 'node:crypto';
import { type AggregatedDiscoveryVersion, aggregatedDiscovery } from '../../api/aggregated-discovery.js';
import type { ServedGroup } from '../../api/groups.js';
import {
  type ApiResource,
  apiGroup,
  apiGroupList,
  apiResourceList,
  type DiscoverySource,
  mergeResources,
  placeholderResource,
} from '../../api/legacy-discovery.js';
import type { RenderedJson } from '../respond/rendered-bodies.js';

export interface RenderedDocument extends RenderedJson {
  /** A strong ETag of the body, quoted as the header carries it. */
  etag: string;
}

/**
 * The discovery documents of the served groups, rendered once per change of what the sources
 * announce. The aggregator probes `/apis/<group>/<version>` five at a time every 30 s and drops
 * the APIService when that is slow, so an answer costs one look at each source and, unless
 * something changed, no rendering at all.
 */
export class DiscoveryCatalog {
  private snapshot: Snapshot | undefined;

  /** `groups`: the groups served now (a reload can turn metrics.k8s.io on or off), the same array while unchanged. */
  constructor(
    private readonly groups: () => readonly ServedGroup[],
    private readonly sources: readonly DiscoverySource[],
  ) {}

  current(): Snapshot {
    const groups = this.groups();
    const announced = groups.map((group) =>
      group.versions.map((version) => this.sources.map((source) => source.resources(group.name, version))),
    );
    if (this.snapshot?.groups === groups && this.snapshot.announcedSameAs(announced)) return this.snapshot;
    this.snapshot = new Snapshot(groups, announced);
    return this.snapshot;
  }
}

type Announced = readonly (readonly (readonly (readonly ApiResource[])[])[])[];

/** The documents for one state of the sources; each is rendered the first time it is asked for. */
export class Snapshot {
  private readonly rendered = new Map<string, RenderedDocument>();
  private readonly resources: readonly (readonly (readonly ApiResource[])[])[];

  constructor(
    readonly groups: readonly ServedGroup[],
    private readonly announced: Announced,
  ) {
    this.resources = groups.map((group, g) =>
      group.versions.map((_, v) =>
        mergeResources(
          announced[g]?.[v] ?? [],
          group.placeholder === false ? undefined : placeholderResource(group.listKind),
        ),
      ),
    );
  }

  announcedSameAs(other: Announced): boolean {
    return sameNested(this.announced, other, 4);
  }

  groupList(): RenderedDocument {
    return this.render('', () => apiGroupList(this.groups));
  }

  /** undefined when the group is not served. */
  group(name: string): RenderedDocument | undefined {
    const group = this.groups.find((g) => g.name === name);
    return group && this.render(name, () => apiGroup(group));
  }

  /** undefined when the group-version is not served. */
  resourceList(groupName: string, version: string): RenderedDocument | undefined {
    const g = this.groups.findIndex((group) => group.name === groupName);
    const v = g === -1 ? -1 : (this.groups[g] as ServedGroup).versions.indexOf(version);
    const resources = this.resources[g]?.[v];
    return resources && this.render(`${groupName}/${version}`, () => apiResourceList(groupName, version, resources));
  }

  aggregated(version: AggregatedDiscoveryVersion): RenderedDocument {
    return this.render(`apidiscovery.k8s.io/${version}`, () =>
      aggregatedDiscovery(
        version,
        this.groups.map((group, g) => ({
          name: group.name,
          versions: group.versions.map((v, i) => ({ version: v, resources: this.resources[g]?.[i] ?? [] })),
        })),
      ),
    );
  }

  private render(key: string, build: () => unknown): RenderedDocument {
    let document = this.rendered.get(key);
    if (!document) {
      const json = JSON.stringify(build());
      const etag = `"${createHash('sha256').update(json).digest('hex').slice(0, 32)}"`;
      document = { json, bytes: Buffer.byteLength(json), etag };
      this.rendered.set(key, document);
    }
    return document;
  }
}

/** Element-wise identity down to `depth` levels of arrays. */
function sameNested(a: readonly unknown[], b: readonly unknown[], depth: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (depth <= 1 || !Array.isArray(x) || !Array.isArray(y) || !sameNested(x, y, depth - 1)) return false;
  }
  return true;
}
