import { ApiError } from '../api/errors.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { Logger } from '../observability/logger.js';
import type { BackendEnvironment } from '../providers/backend-module.js';
import type { CloudWatchBackendConfig } from '../providers/cloudwatch/config.js';
import { cloudWatchModule } from '../providers/cloudwatch/module.js';
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
   * Called after each rebuild, once the previous backends are closed, with every cache the served
   * backends got from `env.cacheFor`: any other cache made for definitions is unused and may be
   * closed (a definition's TTL changed, or the last definition with that TTL went).
   */
  cachesInUse?(caches: ReadonlySet<QueryCache>): void;
}

interface Served {
  backend: MetricsBackend;
  external: ExternalMetricsProvider;
  /** `namespace/name` of the definition, for its state. */
  id: string;
}

/**
 * MetricDefinitions served as external metrics, each only in its own namespace. The definitions
 * that pass judgement (judge.ts) are grouped by backend and TTL, and each group is built as a
 * backend through the registry (createBackend), as a config section is: its own cache family,
 * the cache budget, and each definition's failure policy. It sits after the config's backends in
 * the router, so a name the config serves is the config's (and the definition says Conflict).
 */
export class DefinitionsBackend implements MetricsBackend {
  readonly name = 'definitions';
  readonly external: ExternalMetricsProvider;
  readonly states = new DefinitionStateBook();
  private readonly definitions = new Map<string, MetricDefinition>();
  private readonly judged = new WeakMap<MetricDefinition, Judgement>();
  private served = new Map<string, Served>();
  private backends: MetricsBackend[] = [];
  private infos: readonly ExternalMetricInfo[] = [];
  private names = new Set<string>();
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
        const served = this.served.get(definitionKey(request.namespace, request.metric));
        if (!served) {
          throw ApiError.notFound(
            `external metric "${request.metric}" is not defined in namespace "${request.namespace}" (no MetricDefinition there serves it)`,
          );
        }
        return this.read(
          served,
          served.external.getExternalMetric({ ...request, metric: definitionKey(request.namespace, request.metric) }),
        );
      },
      listExternalMetrics: () => this.infos,
      servesExternal: (metric) => this.names.has(metric),
    };
  }

  /** Every definition now held, for explain and tests. */
  definition(namespace: string, name: string): MetricDefinition | undefined {
    return this.definitions.get(`${namespace}/${name}`);
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

  /** Replaces every definition (after a LIST). */
  replaceAll(definitions: readonly MetricDefinition[]): void {
    this.definitions.clear();
    for (const d of definitions) this.definitions.set(`${d.namespace}/${d.name}`, d);
    this.changed();
  }

  upsert(definition: MetricDefinition): void {
    this.definitions.set(`${definition.namespace}/${definition.name}`, definition);
    this.changed();
  }

  remove(namespace: string, name: string): void {
    if (this.definitions.delete(`${namespace}/${name}`)) this.changed();
  }

  get size(): number {
    return this.definitions.size;
  }

  /** A reloaded config: every definition is judged again under its policy and sections. */
  reconfigure(config: DefinitionsConfig): void {
    this.config = config;
    this.rules = new DefinitionsPolicyRules(config.policy);
    for (const d of this.definitions.values()) this.judged.delete(d);
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
    await closeAll(this.backends);
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

  /** Judges every definition, builds one backend per backend kind and TTL, then swaps them in. */
  private async rebuild(): Promise<void> {
    const { policy } = this.config;
    const byNamespace = new Map<string, MetricDefinition[]>();
    for (const d of this.definitions.values()) {
      const list = byNamespace.get(d.namespace) ?? [];
      list.push(d);
      byNamespace.set(d.namespace, list);
    }
    const groups = new Map<string, { kind: string; ttlMs: number | undefined; members: ServedMember[] }>();
    const seen = new Set<string>();
    for (const list of byNamespace.values()) {
      list.sort((a, b) => a.createdAt - b.createdAt || (a.name < b.name ? -1 : 1));
      const metricsTaken = new Set<string>();
      for (const [position, definition] of list.entries()) {
        const id = `${definition.namespace}/${definition.name}`;
        seen.add(id);
        if (position >= policy.maxPerNamespace) {
          // Not judged (nor parsed): a namespace with 10,000 definitions costs no more than its limit.
          const metric = 'invalid' in definition.spec ? definition.name : (definition.spec.metric ?? definition.name);
          const message = `namespace "${definition.namespace}" has more than definitions.maxPerNamespace (${policy.maxPerNamespace}) definitions; the oldest are served`;
          this.states.judged({ definition, metric }, 'Forbidden', message);
          continue;
        }
        const judged = this.judgement(definition);
        const base = { definition, metric: judged.metric };
        if (!judged.ok) {
          this.states.judged(base, judged.reason, judged.message);
          continue;
        }
        if (this.config.configServes(judged.metric)) {
          this.states.judged(
            base,
            'Conflict',
            `the adapter config already serves external metric "${judged.metric}": it stays the config's`,
          );
          continue;
        }
        if (metricsTaken.has(judged.metric)) {
          this.states.judged(
            base,
            'Conflict',
            `an older definition in namespace "${definition.namespace}" serves external metric "${judged.metric}"`,
          );
          continue;
        }
        metricsTaken.add(judged.metric);
        const groupKey = `${judged.plan.kind}/${judged.ttlMs ?? ''}`;
        const group = groups.get(groupKey) ?? { kind: judged.plan.kind, ttlMs: judged.ttlMs, members: [] };
        group.members.push({ id, judged });
        groups.set(groupKey, group);
        this.states.judged(
          base,
          'Valid',
          `served as external metric "${judged.metric}" in namespace "${definition.namespace}"`,
        );
      }
    }
    this.states.forgetAllBut(seen);
    const built: MetricsBackend[] = [];
    const served = new Map<string, Served>();
    const caches = new Set<QueryCache>();
    for (const group of groups.values()) {
      const backend = await this.build(group.kind, group.ttlMs, group.members, caches);
      if (!backend?.external) continue;
      built.push(backend);
      await backend.start?.();
      for (const { id, judged } of group.members) served.set(judged.key, { backend, external: backend.external, id });
    }
    if (this.closed) return closeAll(built);
    const previous = this.backends;
    this.backends = built;
    this.served = served;
    const names = new Set([...served.keys()].map((key) => key.slice(key.indexOf(':') + 1)));
    if (!sameSet(names, this.names)) {
      this.names = names;
      this.infos = [...names].sort().map((metric) => ({ metric }));
    }
    await closeAll(previous);
    if (!this.closed) this.deps.cachesInUse?.(caches);
  }

  private build(
    kind: string,
    ttlMs: number | undefined,
    members: ServedMember[],
    caches: Set<QueryCache>,
  ): Promise<MetricsBackend | undefined> {
    const env: BackendEnvironment = {
      ...this.deps.env,
      cacheFor: (family, overrides) => {
        const cache = this.deps.env.cacheFor(family, ttlMs === undefined ? overrides : { ...overrides, ttl: ttlMs });
        caches.add(cache);
        return cache;
      },
    };
    const plans = members.map((m) => m.judged).filter((j) => j.ok);
    switch (kind) {
      case 'prometheus':
        return createBackend(
          definitionQueriesModule,
          {
            servers: this.config.prometheusServers,
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

  /** Hands the answer on at once; what it says about the definition is noted beside it. */
  private read(served: Served, answer: Promise<readonly ExternalSample[]>): Promise<readonly ExternalSample[]> {
    answer.then(
      (samples) => this.states.read(served.id, samples, undefined),
      (error: unknown) => this.states.read(served.id, undefined, error),
    );
    return answer;
  }
}

interface ServedMember {
  id: string;
  judged: Extract<Judgement, { ok: true }>;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

async function closeAll(backends: readonly MetricsBackend[]): Promise<void> {
  await Promise.allSettled(backends.map((b) => b.close?.()));
}
