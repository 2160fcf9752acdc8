import { z } from 'zod';
import { BUILTIN_RESOURCES } from '../api/builtin-resources.js';
import type { GroupResource } from '../api/group-resource.js';
import { type ResourceInfo, type ResourceResolver, ResourceTable } from '../api/resource-table.js';
import { BackgroundRefresh } from '../lib/background-refresh.js';
import type { Logger } from '../observability/logger.js';
import type { KubeClient } from './types.js';

const apiVersionsSchema = z.object({ versions: z.array(z.string()).nullish() });
const groupListSchema = z.object({
  groups: z
    .array(
      z.object({
        name: z.string(),
        versions: z.array(z.object({ version: z.string() })).nullish(),
        preferredVersion: z.object({ version: z.string() }).nullish(),
      }),
    )
    .nullish(),
});
const resourceListSchema = z.object({
  resources: z
    .array(
      z.object({
        name: z.string(),
        singularName: z.string().nullish(),
        namespaced: z.boolean().nullish(),
        kind: z.string(),
        shortNames: z.array(z.string()).nullish(),
      }),
    )
    .nullish(),
});

export interface ClusterResourcesOptions {
  kube: Pick<KubeClient, 'readDiscovery'>;
  logger: Logger;
  /** Groups not to ask about: ours, which the API server would proxy back to this adapter. */
  skipGroups: readonly string[];
  /** How often to read discovery again. */
  intervalMs: number;
}

const SOURCE = "the cluster's API discovery";

/**
 * The cluster's own resources, as kubectl's RESTMapper knows them: read from the API server's
 * `/api`, `/apis` and each group's preferred group-version document, refreshed in the background.
 * Until the first read succeeds it answers from the built-in table; a group-version that fails
 * to answer (an aggregated API that is down) keeps what it last served, so names never vanish
 * because of a transient error.
 */
export class ClusterResources implements ResourceResolver {
  private table: ResourceTable = BUILTIN_RESOURCES;
  private signature = '';
  private readonly lastGood = new Map<string, ResourceInfo[]>();
  private readonly refresher: BackgroundRefresh<void>;

  constructor(private readonly options: ClusterResourcesOptions) {
    this.refresher = new BackgroundRefresh({
      run: (signal) => this.read(signal),
      intervalMs: options.intervalMs,
      onFailure: (error) => this.warnUnread(error),
      closeReason: 'cluster resource discovery stopped',
    });
  }

  get source(): string {
    return this.table === BUILTIN_RESOURCES ? `${BUILTIN_RESOURCES.source}; ${SOURCE} not read yet` : SOURCE;
  }

  resolve(text: string): ResourceInfo | undefined {
    return this.table.resolve(text);
  }

  find(resource: GroupResource): ResourceInfo | undefined {
    return this.table.find(resource);
  }

  list(): readonly ResourceInfo[] {
    return this.table.list();
  }

  /** Reads discovery once; waits for it (bounded by the client's deadline), then refreshes in the background. */
  async start(): Promise<void> {
    await this.refresher.start();
  }

  /** Stops refreshing; resolves once a read in flight has ended. */
  close(): Promise<void> {
    return this.refresher.close();
  }

  /** One read of the cluster's discovery. Rejects when `/api` or `/apis` cannot be read; the table is then unchanged. */
  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  private async read(signal: AbortSignal): Promise<void> {
    const read = async <S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> => {
      const parsed = schema.safeParse(await this.options.kube.readDiscovery(path, signal));
      if (!parsed.success)
        throw new Error(`unexpected discovery document at ${path}: ${parsed.error.issues[0]?.message}`);
      return parsed.data;
    };
    const [core, groups] = await Promise.all([read('/api', apiVersionsSchema), read('/apis', groupListSchema)]);
    const groupVersions: [string, string][] = [];
    if (core.versions?.includes('v1')) groupVersions.push(['', 'v1']);
    for (const group of groups.groups ?? []) {
      if (this.options.skipGroups.includes(group.name)) continue;
      const version = group.preferredVersion?.version ?? group.versions?.[0]?.version;
      if (version) groupVersions.push([group.name, version]);
    }
    const failed: string[] = [];
    const lists = await Promise.all(
      groupVersions.map(async ([group, version]) => {
        const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
        try {
          const list = await read(path, resourceListSchema);
          const resources = (list.resources ?? [])
            .filter((r) => !r.name.includes('/'))
            .map((r) => ({
              group,
              version,
              resource: r.name,
              singular: r.singularName || r.kind.toLowerCase(),
              kind: r.kind,
              namespaced: r.namespaced === true,
              shortNames: r.shortNames ?? [],
            }));
          this.lastGood.set(group, resources);
          return resources;
        } catch (error) {
          failed.push(`${path}: ${(error as Error).message}`);
          return this.lastGood.get(group) ?? [];
        }
      }),
    );
    for (const group of this.lastGood.keys()) {
      if (!groupVersions.some(([g]) => g === group)) this.lastGood.delete(group);
    }
    if (failed.length > 0) {
      this.options.logger.warn({ failed }, 'some API groups did not answer discovery; keeping what they last served');
    }
    const resources = lists.flat();
    const signature = JSON.stringify(resources);
    if (signature === this.signature) return;
    this.signature = signature;
    this.table = new ResourceTable(SOURCE, resources);
    this.options.logger.info({ resources: resources.length }, 'resource names read from the cluster discovery');
  }

  private warnUnread(error: unknown): void {
    this.options.logger.warn(
      { err: (error as Error).message },
      this.table === BUILTIN_RESOURCES
        ? 'cannot read the cluster discovery: resource names resolve from the built-in table until it answers'
        : 'cannot read the cluster discovery: keeping the resource names last read',
    );
  }
}
