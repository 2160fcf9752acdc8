import { ApiError } from '../api/errors.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { Logger } from '../observability/logger.js';
import type { BackendEnvironment } from '../providers/backend-module.js';
import type { CloudWatchBackendConfig } from '../providers/cloudwatch/config.js';
import { cloudWatchModule } from '../providers/cloudwatch/module.js';
import { clientFor } from '../providers/prometheus/backend.js';
import type { PrometheusClient } from '../providers/prometheus/client.js';
import { prometheusMetricsFor } from '../providers/prometheus/metrics.js';
import type { PrometheusServerSettings } from '../providers/prometheus/settings.js';
import type {
  ExternalMetricInfo,
  ExternalMetricsProvider,
  ExternalSample,
  MetricsBackend,
} from '../providers/provider.js';
import { createBackend } from '../providers/registry.js';
import type { SqsBackendConfig } from '../providers/sqs/config.js';
import { sqsModule } from '../providers/sqs/module.js';
import { definitionKey, type Judgement, judgeDefinition } from './judge.js';
import { judgeNamespace, type ServedMember } from './namespace-verdicts.js';
import { DefinitionsPolicyRules } from './policy.js';
import type { DefinitionsPolicy } from './policy-config.js';
import { definitionQueriesModule } from './prometheus-queries.js';
import type { MetricDefinition } from './resource.js';
import { DefinitionStateBook } from './state-book.js';

/** What the running config offers definitions: the policy, the backends' connection settings. */
export interface DefinitionsConfig {
  policy: DefinitionsPolicy;
  prometheusServers: readonly PrometheusServerSettings[];
  /** The config's `sqs:` section (connection, accounts), or its defaults. */
  sqs: SqsBackendConfig;
  cloudwatch: CloudWatchBackendConfig;
  /** Whether the config file's own backends serve the external metric: then it is theirs (Conflict). */
  configServes(metric: string): boolean;
}

export interface DefinitionsBackendDeps {
  /** Caches by backend family with a definition's TTL over its settings (see startup/definitions.ts). */
  env: BackendEnvironment;
  logger: Logger;
  /** How long changes are gathered before the served set is rebuilt (a flapping definition costs one rebuild per window). */
  settleMs?: number;
  /**
   * Called after each rebuild, once the replaced backends are closed, with every cache the served
   * backends got from `env.cacheFor`: any other cache made for definitions is unused and may be
   * closed (a definition's TTL changed, or the last definition with that TTL went).
   */
  cachesInUse?(caches: ReadonlySet<QueryCache>): void;
}

interface Served {
  external: ExternalMetricsProvider;
  /** `namespace/name` of the definition, for its state. */
  id: string;
}

/** One built backend and what it serves. */
interface Group {
  backend: MetricsBackend;
  members: readonly ServedMember[];
  caches: ReadonlySet<QueryCache>;
  /** The Prometheus servers' settings its queries go through (their clients are shared, see clientOf). */
  servers: ReadonlySet<PrometheusServerSettings>;
}

/**
 * MetricDefinitions served as external metrics, each only in its own namespace. The definitions
 * that pass judgement (judge.ts, namespace-verdicts.ts) are grouped, and each group is built as a
 * backend through the registry (createBackend), as a config section is: its own cache family, the
 * cache budget, and each definition's failure policy. A change rebuilds only the groups its
 * namespace's definitions were or are in (groupOf): every other backend, and the arrays it hands
 * out, stay as they were. It sits after the config's backends in the router, so a name the config
 * serves is the config's (and the definition says Conflict).
 */
export class DefinitionsBackend implements MetricsBackend {
  readonly name = 'definitions';
  readonly external: ExternalMetricsProvider;
  readonly states = new DefinitionStateBook();
  /** Definitions by namespace, then name. */
  private readonly definitions = new Map<string, Map<string, MetricDefinition>>();
  private count = 0;
  private readonly judged = new WeakMap<MetricDefinition, Judgement>();
  /** Namespaces changed since the last rebuild. */
  private readonly dirty = new Set<string>();
  /** Valid definitions by group key, then `namespace/name`. */
  private readonly members = new Map<string, Map<string, ServedMember>>();
  /** The group keys each namespace's valid definitions are in. */
  private readonly groupsOfNamespace = new Map<string, ReadonlySet<string>>();
  /** The `namespace/name` ids each namespace had judged, to forget the ones gone. */
  private readonly judgedIds = new Map<string, ReadonlySet<string>>();
  private readonly groups = new Map<string, Group>();
  private readonly served = new Map<string, Served>();
  private readonly prometheusClients = new Map<PrometheusServerSettings, PrometheusClient>();
  private infos: readonly ExternalMetricInfo[] = [];
  /** Served metric names, each with how many namespaces serve it. */
  private readonly names = new Map<string, number>();
  private rules: DefinitionsPolicyRules;
  private timer: NodeJS.Timeout | undefined;
  private rebuilding: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private config: DefinitionsConfig,
    private readonly deps: DefinitionsBackendDeps,
  ) {
    this.rules = new DefinitionsPolicyRules(config.policy);
    this.external = {
      getExternalMetric: (request) => {
        const key = definitionKey(request.namespace, request.metric);
        const served = this.served.get(key);
        if (!served) {
          throw ApiError.notFound(
            `external metric "${request.metric}" is not defined in namespace "${request.namespace}" (no MetricDefinition there serves it)`,
          );
        }
        const answer = served.external.getExternalMetric({ ...request, metric: key });
        return this.read(
          served,
          answer.catch((error: unknown) => Promise.reject(userFacing(error, request))),
        );
      },
      listExternalMetrics: () => this.infos,
      servesExternal: (metric) => this.names.has(metric),
    };
  }

  /** Every definition now held, for explain and tests. */
  definition(namespace: string, name: string): MetricDefinition | undefined {
    return this.definitions.get(namespace)?.get(name);
  }

  judgement(definition: MetricDefinition): Judgement {
    let judged = this.judged.get(definition);
    if (!judged) {
      judged = judgeDefinition(definition, {
        policy: this.rules,
        prometheusServers: this.config.prometheusServers.map((s) => s.name),
      });
      this.judged.set(definition, judged);
    }
    return judged;
  }

  /**
   * Replaces every definition (after a LIST). A namespace whose definitions are the same objects
   * as before (same names and resourceVersions) keeps them, their judgements and its backends.
   */
  replaceAll(definitions: readonly MetricDefinition[]): void {
    const next = new Map<string, Map<string, MetricDefinition>>();
    for (const d of definitions) {
      const inNamespace = next.get(d.namespace) ?? new Map<string, MetricDefinition>();
      const held = this.definition(d.namespace, d.name);
      inNamespace.set(d.name, held?.resourceVersion === d.resourceVersion && d.resourceVersion !== '' ? held : d);
      next.set(d.namespace, inNamespace);
    }
    for (const namespace of new Set([...this.definitions.keys(), ...next.keys()])) {
      if (!sameDefinitions(this.definitions.get(namespace), next.get(namespace))) this.dirty.add(namespace);
    }
    this.definitions.clear();
    this.count = 0;
    for (const [namespace, inNamespace] of next) {
      this.definitions.set(namespace, inNamespace);
      this.count += inNamespace.size;
    }
    this.changed();
  }

  upsert(definition: MetricDefinition): void {
    let inNamespace = this.definitions.get(definition.namespace);
    if (!inNamespace) {
      inNamespace = new Map();
      this.definitions.set(definition.namespace, inNamespace);
    }
    if (!inNamespace.has(definition.name)) this.count++;
    inNamespace.set(definition.name, definition);
    this.dirty.add(definition.namespace);
    this.changed();
  }

  remove(namespace: string, name: string): void {
    const inNamespace = this.definitions.get(namespace);
    if (!inNamespace?.delete(name)) return;
    this.count--;
    if (inNamespace.size === 0) this.definitions.delete(namespace);
    this.dirty.add(namespace);
    this.changed();
  }

  get size(): number {
    return this.count;
  }

  /** A reloaded config: every definition is judged again under its policy and sections. */
  reconfigure(config: DefinitionsConfig): void {
    this.config = config;
    this.rules = new DefinitionsPolicyRules(config.policy);
    for (const inNamespace of this.definitions.values()) for (const d of inNamespace.values()) this.judged.delete(d);
    for (const namespace of [...this.definitions.keys(), ...this.judgedIds.keys()]) this.dirty.add(namespace);
    this.changed();
  }

  /** Resolves once every change so far is served (tests, explain). */
  async settled(): Promise<void> {
    while (this.timer !== undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.rebuilding;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.rebuilding;
    await closeAll([...this.groups.values()].map((g) => g.backend));
    this.groups.clear();
    for (const client of this.prometheusClients.values()) client.close();
    this.prometheusClients.clear();
  }

  private changed(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.rebuilding = this.rebuilding
        .then(() => this.rebuild())
        .catch((error: unknown) => {
          this.deps.logger.error({ err: (error as Error).message }, 'definitions: rebuilding the served set failed');
        });
    }, this.deps.settleMs ?? 200);
    this.timer.unref?.();
  }

  /** Judges the changed namespaces, rebuilds the groups they were or are in, then swaps those in. */
  private async rebuild(): Promise<void> {
    const affected = new Set<string>();
    for (const namespace of this.dirty) this.rejudge(namespace, affected);
    this.dirty.clear();
    const built = new Map<string, Group | undefined>();
    for (const key of affected) {
      const members = [...(this.members.get(key)?.values() ?? [])];
      built.set(
        key,
        members.length === 0
          ? undefined
          : await this.build(members).catch((error: unknown) => {
              // One group that cannot be built leaves the others served; its next change tries again.
              this.deps.logger.error(
                { err: (error as Error).message, group: key },
                'definitions: building a backend failed',
              );
              return undefined;
            }),
      );
    }
    if (this.closed) return closeAll([...built.values()].flatMap((g) => (g ? [g.backend] : [])));
    const replaced: MetricsBackend[] = [];
    // Whether each name touched was served before: the names change only where that differs now.
    const wasServed = new Map<string, boolean>();
    const touch = (metric: string) => {
      if (!wasServed.has(metric)) wasServed.set(metric, this.names.has(metric));
    };
    for (const key of affected) {
      const previous = this.groups.get(key);
      if (!previous) continue;
      for (const { judged } of previous.members) {
        this.served.delete(judged.key);
        touch(judged.metric);
        const left = (this.names.get(judged.metric) ?? 1) - 1;
        if (left > 0) this.names.set(judged.metric, left);
        else this.names.delete(judged.metric);
      }
      replaced.push(previous.backend);
      this.groups.delete(key);
    }
    for (const [key, group] of built) {
      if (!group?.backend.external) continue;
      this.groups.set(key, group);
      for (const { judged, id } of group.members) {
        this.served.set(judged.key, { external: group.backend.external, id });
        touch(judged.metric);
        this.names.set(judged.metric, (this.names.get(judged.metric) ?? 0) + 1);
      }
    }
    // A new array only when the names changed (provider.ts's identity rule): a definition
    // rebuilt with the same metric, or a second namespace serving a name, changes nothing.
    if ([...wasServed].some(([metric, was]) => was !== this.names.has(metric)))
      this.infos = [...this.names.keys()].sort().map((metric) => ({ metric }));
    await closeAll(replaced);
    if (this.closed) return;
    this.closeUnusedClients();
    this.deps.cachesInUse?.(new Set([...this.groups.values()].flatMap((g) => [...g.caches])));
  }

  /** One namespace judged again: its states set, its valid definitions moved into their groups. */
  private rejudge(namespace: string, affected: Set<string>): void {
    for (const key of this.groupsOfNamespace.get(namespace) ?? []) {
      affected.add(key);
      const members = this.members.get(key);
      for (const [id, member] of members ?? []) if (member.namespace === namespace) members?.delete(id);
      if (members?.size === 0) this.members.delete(key);
    }
    const definitions = [...(this.definitions.get(namespace)?.values() ?? [])];
    const valid = judgeNamespace(definitions, {
      maxPerNamespace: this.config.policy.maxPerNamespace,
      judge: (d) => this.judgement(d),
      configServes: (metric) => this.config.configServes(metric),
      states: this.states,
    });
    const ids = new Set(definitions.map((d) => `${namespace}/${d.name}`));
    for (const id of this.judgedIds.get(namespace) ?? []) if (!ids.has(id)) this.states.forget(id);
    if (ids.size > 0) this.judgedIds.set(namespace, ids);
    else this.judgedIds.delete(namespace);
    const keys = new Set<string>();
    for (const member of valid) {
      const key = groupOf(member);
      keys.add(key);
      affected.add(key);
      const members = this.members.get(key) ?? new Map<string, ServedMember>();
      members.set(member.judged.key, member);
      this.members.set(key, members);
    }
    if (keys.size > 0) this.groupsOfNamespace.set(namespace, keys);
    else this.groupsOfNamespace.delete(namespace);
  }

  private async build(members: readonly ServedMember[]): Promise<Group | undefined> {
    const [first] = members;
    if (!first) return undefined;
    const { ttlMs } = first.judged;
    const caches = new Set<QueryCache>();
    const servers = new Set<PrometheusServerSettings>();
    const env: BackendEnvironment = {
      ...this.deps.env,
      cacheFor: (family, overrides) => {
        const cache = this.deps.env.cacheFor(family, ttlMs === undefined ? overrides : { ...overrides, ttl: ttlMs });
        caches.add(cache);
        return cache;
      },
    };
    const plans = members.map((m) => m.judged);
    const backend = await this.create(first.judged.plan.kind, plans, env, servers);
    if (!backend) return undefined;
    await backend.start?.();
    return { backend, members, caches, servers };
  }

  private create(
    kind: string,
    plans: readonly ServedMember['judged'][],
    env: BackendEnvironment,
    servers: Set<PrometheusServerSettings>,
  ): Promise<MetricsBackend | undefined> {
    switch (kind) {
      case 'prometheus':
        return createBackend(
          definitionQueriesModule,
          {
            servers: this.config.prometheusServers,
            clientOf: (server) => {
              servers.add(server);
              return this.clientOf(server);
            },
            queries: plans.flatMap((j) =>
              j.plan.kind === 'prometheus'
                ? [{ key: j.key, server: j.plan.server, rule: j.plan.rule, failurePolicy: j.plan.failurePolicy }]
                : [],
            ),
          },
          env,
        );
      case 'sqs':
        return createBackend(
          sqsModule,
          {
            ...this.config.sqs,
            allowQueues: [],
            queueLengthMetric: { ...this.config.sqs.queueLengthMetric, enabled: false },
            oldestMessageAgeMetric: { ...this.config.sqs.oldestMessageAgeMetric, enabled: false },
            metrics: plans.flatMap((j) => (j.plan.kind === 'sqs' ? [j.plan.metric] : [])),
          },
          env,
        );
      default:
        return createBackend(
          cloudWatchModule,
          {
            ...this.config.cloudwatch,
            metrics: plans.flatMap((j) => (j.plan.kind === 'cloudwatch' ? [j.plan.metric] : [])),
          },
          env,
        );
    }
  }

  /**
   * One client (one connection pool) per Prometheus server for every namespace's backend, so a
   * rebuild neither drops the connections nor cuts the reads of the backends it leaves alone. Kept
   * by the settings object: a reloaded config brings new settings, and so new clients.
   */
  private clientOf(server: PrometheusServerSettings): PrometheusClient {
    let client = this.prometheusClients.get(server);
    if (!client) {
      client = clientFor(server.name, server.client, prometheusMetricsFor(this.deps.env.registry));
      this.prometheusClients.set(server, client);
    }
    return client;
  }

  private closeUnusedClients(): void {
    const used = new Set([...this.groups.values()].flatMap((g) => [...g.servers]));
    for (const [server, client] of this.prometheusClients) {
      if (used.has(server)) continue;
      client.close();
      this.prometheusClients.delete(server);
    }
  }

  /** Hands the answer on at once; what it says about the definition is noted beside it. */
  private read(served: Served, answer: Promise<readonly ExternalSample[]>): Promise<readonly ExternalSample[]> {
    answer.then(
      (samples) => this.states.read(served.id, samples, undefined),
      (error: unknown) => this.states.read(served.id, undefined, error),
    );
    return answer;
  }
}

/**
 * The group a valid definition is served in. PromQL: its namespace's own backend per TTL, so a
 * change in one namespace rebuilds only that namespace's queries. SQS and CloudWatch: one backend
 * per TTL for every namespace, since it shares what the AWS side charges for (one SDK client,
 * resolved queue URLs, GetMetricData batches of up to 500 queries).
 */
function groupOf(member: ServedMember): string {
  const { kind } = member.judged.plan;
  const ttl = member.judged.ttlMs ?? '';
  return kind === 'prometheus' ? `${kind}/${ttl}/${member.namespace}` : `${kind}/${ttl}`;
}

/**
 * The error of a definition's read as its team reads it (the HPA's events, status.lastError): the
 * backends know the metric by its internal key (definitionKey), the team as `namespace/metric`.
 */
function userFacing(error: unknown, request: { namespace: string; metric: string }): unknown {
  const key = definitionKey(request.namespace, request.metric);
  if (!(error instanceof ApiError) || !error.message.includes(key)) return error;
  const message = error.message.replaceAll(key, `${request.namespace}/${request.metric}`);
  return new ApiError(error.reason, message, {
    cause: error,
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
  });
}

function sameDefinitions(
  a: ReadonlyMap<string, MetricDefinition> | undefined,
  b: ReadonlyMap<string, MetricDefinition> | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const [name, definition] of a) if (b.get(name) !== definition) return false;
  return true;
}

async function closeAll(backends: readonly MetricsBackend[]): Promise<void> {
  await Promise.allSettled(backends.map((b) => b.close?.()));
}
