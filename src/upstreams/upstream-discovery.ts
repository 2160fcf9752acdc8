import { type ApiResource, PLACEHOLDER_RESOURCE } from '../api/legacy-discovery.js';
import { BackgroundRefresh } from '../lib/background-refresh.js';
import type { Logger } from '../observability/logger.js';
import type { UpstreamClient } from './client.js';
import type { UpstreamConfig } from './config.js';
import type { UpstreamMetrics } from './metrics.js';

interface GroupVersionDocument {
  resources: readonly ApiResource[];
  names: ReadonlySet<string>;
}

/** Tells whether a backend of ours serves a discovery name (`<metric>` or `<resource>/<metric>`) of a group. */
export type OwnsName = (group: string, name: string) => boolean;

/**
 * An upstream's discovery documents, fetched in the background every `discoveryInterval`: the
 * last good document of each group-version is kept through failures, and requests only ever
 * read what is in memory. Names that a backend of ours serves too are logged once and counted;
 * ours answer them (routing and discovery both put our backends first).
 */
export class UpstreamDiscovery {
  private readonly documents = new Map<string, GroupVersionDocument>();
  private readonly reportedCollisions = new Set<string>();
  /** Per group-version, why its last fetch failed; kept only until one succeeds. */
  private readonly lastErrors = new Map<string, string>();
  private readonly skipped: ReadonlySet<string>;
  private readonly refresher: BackgroundRefresh<void>;

  constructor(
    private readonly config: UpstreamConfig,
    private readonly client: UpstreamClient,
    private readonly deps: { logger: Logger; metrics: UpstreamMetrics; ownsName: OwnsName },
  ) {
    // Another instance of this project announces its own placeholder: ours already stands for it.
    this.skipped = new Set([...config.placeholderResources, PLACEHOLDER_RESOURCE]);
    this.refresher = new BackgroundRefresh({
      run: (signal) => this.fetchAll(signal),
      intervalMs: config.discoveryInterval,
      closeReason: 'upstream closed',
    });
  }

  /** Starts fetching; does not wait for the upstream, which may be down when we start. */
  start(): void {
    void this.refresher.start();
  }

  /** Stops fetching; resolves once a fetch in flight has ended. */
  close(): Promise<void> {
    return this.refresher.close();
  }

  /** The upstream's resources of a group-version as last fetched; empty before the first success. */
  resources(group: string, version: string): readonly ApiResource[] {
    return this.documents.get(`${group}/${version}`)?.resources ?? [];
  }

  /** Whether its discovery of that group-version lists `name`. */
  announces(group: string, version: string, name: string): boolean {
    return this.documents.get(`${group}/${version}`)?.names.has(name) ?? false;
  }

  /** The group-versions of `group` never fetched yet, each with its last error. */
  neverFetched(group: string): { groupVersion: string; error: string }[] {
    return this.config.groupVersions
      .filter((gv) => gv.startsWith(`${group}/`) && !this.documents.has(gv))
      .map((groupVersion) => ({
        groupVersion,
        error: this.lastErrors.get(groupVersion) ?? 'its discovery has not been fetched yet',
      }));
  }

  /** When every group-version has been fetched at least once. */
  get complete(): boolean {
    return this.documents.size === this.config.groupVersions.length;
  }

  /** Fetches every group-version once (after a fetch in flight); a failed one keeps its last good document. */
  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  private async fetchAll(signal: AbortSignal): Promise<void> {
    const results = await Promise.allSettled(this.config.groupVersions.map((gv) => this.fetch(gv, signal)));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [[this.config.groupVersions[i], r.reason]] : [],
    );
    if (signal.aborted) return;
    this.deps.metrics.discoveryRefreshes.inc({
      upstream: this.config.name,
      result: failed.length ? 'failure' : 'success',
    });
    for (const [groupVersion, reason] of failed) {
      if (!this.documents.has(groupVersion as string))
        this.lastErrors.set(groupVersion as string, (reason as Error).message);
      this.deps.logger.warn(
        { upstream: this.config.name, groupVersion, kept: this.documents.has(groupVersion as string) },
        `upstream "${this.config.name}": discovery of ${groupVersion} failed, its last good document stays in use: ${(reason as Error).message}`,
      );
    }
  }

  private async fetch(groupVersion: string, signal: AbortSignal): Promise<void> {
    const answer = await this.client.get(`/apis/${groupVersion}`, signal);
    // Given back a turn later, as every body reader's bytes are: the parse below is counted too.
    setImmediate(answer.release);
    if (answer.status !== 200) throw new Error(`answered ${answer.status}`);
    const previous = this.documents.get(groupVersion);
    const resources = parseResourceList(answer.body.toString('utf8'), groupVersion, previous?.resources ?? []).filter(
      (r) => !this.skipped.has(r.name),
    );
    this.documents.set(groupVersion, { resources, names: new Set(resources.map((r) => r.name)) });
    this.lastErrors.delete(groupVersion);
    this.reportCollisions(groupVersion, resources);
  }

  private reportCollisions(groupVersion: string, resources: readonly ApiResource[]): void {
    const group = groupVersion.slice(0, groupVersion.indexOf('/'));
    for (const { name } of resources) {
      const key = `${groupVersion}/${name}`;
      if (this.reportedCollisions.has(key) || !this.deps.ownsName(group, name)) continue;
      this.reportedCollisions.add(key);
      this.deps.metrics.collisions.inc({ upstream: this.config.name });
      this.deps.logger.warn(
        { upstream: this.config.name, groupVersion, metric: name },
        `upstream "${this.config.name}" announces ${groupVersion} "${name}", which a backend of ours serves: ours answers it`,
      );
    }
  }
}

/**
 * The resources of an APIResourceList, rebuilt field by field (an upstream adds nothing else to our
 * discovery). An entry unchanged since the last fetch is the same object, so discovery sees no change.
 */
function parseResourceList(body: string, groupVersion: string, previous: readonly ApiResource[]): ApiResource[] {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    throw new Error('answered a body that is not JSON');
  }
  const list = document as { kind?: unknown; groupVersion?: unknown; resources?: unknown } | null;
  if (list?.kind !== 'APIResourceList' || list.groupVersion !== groupVersion || !Array.isArray(list.resources)) {
    throw new Error(`answered something other than the APIResourceList of ${groupVersion}`);
  }
  const before = new Map(previous.map((r) => [r.name, r]));
  const seen = new Set<string>();
  const resources: ApiResource[] = [];
  for (const entry of list.resources as unknown[]) {
    const resource = toResource(entry);
    if (!resource || seen.has(resource.name)) continue;
    seen.add(resource.name);
    const old = before.get(resource.name);
    resources.push(old && sameResource(old, resource) ? old : resource);
  }
  return resources;
}

function toResource(entry: unknown): ApiResource | undefined {
  const e = entry as Partial<Record<keyof ApiResource, unknown>> | null;
  if (typeof e?.name !== 'string' || e.name.length === 0 || e.name.length > 512 || typeof e.kind !== 'string') {
    return undefined;
  }
  const verbs = Array.isArray(e.verbs) ? e.verbs.filter((v): v is string => typeof v === 'string') : ['get'];
  return {
    name: e.name,
    singularName: typeof e.singularName === 'string' ? e.singularName : '',
    namespaced: e.namespaced !== false,
    kind: e.kind,
    verbs,
  };
}

function sameResource(a: ApiResource, b: ApiResource): boolean {
  return (
    a.name === b.name &&
    a.singularName === b.singularName &&
    a.namespaced === b.namespaced &&
    a.kind === b.kind &&
    a.verbs.join(',') === b.verbs.join(',')
  );
}
