import { isDeepStrictEqual } from 'node:util';
import { Counter, type Registry } from 'prom-client';
import { formatQuantity } from '../api/quantity.js';
import type { HpaChange, HpaSummary } from '../kube/hpa-informer.js';
import type { ObjectWithStatus, StatusSubresource } from '../kube/status-subresource.js';
import { perRegistry } from '../lib/per-registry.js';
import { clip } from '../lib/text.js';
import { createLogSampler } from '../observability/log-sampler.js';
import type { Logger } from '../observability/logger.js';
import type { DefinitionState, DefinitionStates } from './state.js';

/** The HPAs of the cluster (src/kube/hpa-informer.ts). */
export interface HpaSource {
  hpas(): Iterable<HpaSummary>;
  subscribe(listener: (change: HpaChange) => void): () => void;
}

/** Who may write: the Lease holder (src/kube/lease-elector.ts). */
export interface WriteLeadership {
  readonly leading: boolean;
  subscribe(listener: (leading: boolean) => void): () => void;
}

/** A MetricDefinition's `status`, as the CRD's schema declares it. */
export interface DefinitionStatus {
  observedGeneration: number;
  /** The external metric served (spec.metric, default metadata.name): the printer column shows it either way. */
  metric: string;
  conditions: [ReadyCondition];
  /** The value the HPA gets (sum of the items), as a Kubernetes quantity. */
  value?: string;
  /** When that value was observed by the backend (RFC 3339). */
  valueTime?: string;
  /** The last read's error, absent once a read succeeds. */
  lastError?: string;
  /** Names of the HorizontalPodAutoscalers in the namespace with an External metric of this name (the first 100). */
  hpas: string[];
}

interface ReadyCondition {
  type: 'Ready';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

export interface StatusWriterOptions {
  inputs: DefinitionStates;
  statuses: StatusSubresource;
  leadership: WriteLeadership;
  /** Without it the status lists no HPAs. */
  hpas?: HpaSource;
  logger: Logger;
  registry: Registry;
  /** At most one write per object per this long. Default 30 s. */
  minIntervalMs?: number;
  /** Objects written at once. Default 4. */
  concurrency?: number;
  now?: () => number;
}

/** The CRD's bounds (deploy/base/crd-metricdefinitions.yaml): a longer field would make every write a 422. */
const MAX_HPAS = 100;
const MAX_ERROR_LENGTH = 1000;

/** A write that met a 409 this many times in a row waits for its next turn. */
const CONFLICT_RETRIES = 3;

const statusWriteMetrics = perRegistry(
  (registry) =>
    new Counter({
      name: 'hpa_metrics_adapter_definition_status_writes_total',
      help: 'MetricDefinition status subresource writes by result: written, unchanged (the object already said it; no write), conflict (409, read again), gone (deleted meanwhile), failed.',
      labelNames: ['result'],
      registers: [registry],
    }),
);

interface Tracked {
  /** The status (less its transition time) last written or found on the object. */
  confirmed?: string;
  lastWriteAt: number;
}

/**
 * Writes each MetricDefinition's status subresource from the adapter's state of it: only while
 * this replica holds the Lease, only when what the status would say changed, at most once per
 * object per `minIntervalMs`, each write naming the resourceVersion it read (409 → read again,
 * compute again, write again). State changes arrive synchronously from metric reads and are only
 * queued here: writes run afterwards, never in a read's way. A failed write is logged (sampled)
 * and counted, and tried again at the object's next turn.
 *
 * The time of an unchanged value is not a change: rewriting it would be a write per definition
 * per 30 s at steady state, for nothing the HPA would do differently.
 */
export class StatusWriter {
  private readonly inputs: DefinitionStates;
  private readonly statuses: StatusSubresource;
  private readonly leadership: WriteLeadership;
  private readonly hpaSource: HpaSource | undefined;
  private readonly logger: Logger;
  private readonly minIntervalMs: number;
  private readonly concurrency: number;
  private readonly now: () => number;
  private readonly writes: Counter<'result'>;
  private readonly failureLog = createLogSampler(5, 60_000);
  private readonly tracked = new Map<string, Tracked>();
  private readonly dirty = new Set<string>();
  private readonly unsubscribes: (() => void)[] = [];
  /** Namespace → metric → HPA names; rebuilt on the next use after an HPA change. */
  private hpaIndex: Map<string, Map<string, string[]>> | undefined;
  private flushing: Promise<void> | undefined;
  private again = false;
  private kicked = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: StatusWriterOptions) {
    this.inputs = options.inputs;
    this.statuses = options.statuses;
    this.leadership = options.leadership;
    this.hpaSource = options.hpas;
    this.logger = options.logger;
    this.minIntervalMs = options.minIntervalMs ?? 30_000;
    this.concurrency = options.concurrency ?? 4;
    this.now = options.now ?? Date.now;
    this.writes = statusWriteMetrics(options.registry);
    this.unsubscribes.push(
      this.inputs.subscribe((event) => {
        if (event.type === 'set') this.mark(keyOf(event.state.namespace, event.state.name));
        else this.tracked.delete(keyOf(event.namespace, event.name));
      }),
      this.leadership.subscribe((leading) => {
        // A new holder cannot know what the last one wrote: it reads each object once and writes where it differs.
        if (!leading) return;
        for (const tracked of this.tracked.values()) tracked.confirmed = undefined;
        for (const state of this.inputs.list()) this.mark(keyOf(state.namespace, state.name));
      }),
    );
    if (this.hpaSource) {
      this.unsubscribes.push(
        this.hpaSource.subscribe((change) => {
          this.hpaIndex = undefined;
          const namespace =
            change.type === 'upsert' ? change.hpa.namespace : change.type === 'delete' ? change.namespace : undefined;
          for (const state of this.inputs.list()) {
            if (namespace === undefined || state.namespace === namespace) this.mark(keyOf(state.namespace, state.name));
          }
        }),
      );
    }
    for (const state of this.inputs.list()) this.mark(keyOf(state.namespace, state.name));
  }

  /**
   * Writes every status that changed and whose object's turn has come, and resolves when done;
   * later turns are left to a timer. The writer calls it itself after changes; tests call it to
   * step a fake clock.
   */
  flush(): Promise<void> {
    this.again = true;
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops writing: no new write starts; resolves when the ones running ended. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    await this.flushing;
  }

  /** The status `state` calls for, with `lastTransitionTime` kept from `current` when Ready did not flip. */
  desiredStatus(state: DefinitionState, current: unknown, now: number): DefinitionStatus {
    const status: DefinitionStatus = {
      observedGeneration: state.generation,
      metric: state.metric,
      conditions: [
        {
          type: 'Ready',
          status: state.reason === 'Valid' ? 'True' : 'False',
          reason: state.reason,
          message: state.message,
          lastTransitionTime: '',
          observedGeneration: state.generation,
        },
      ],
      hpas: this.hpasUsing(state.namespace, state.metric),
    };
    if (state.lastValue !== undefined && Number.isFinite(state.lastValue))
      status.value = formatQuantity(state.lastValue);
    if (state.lastValueTime) status.valueTime = rfc3339(state.lastValueTime);
    if (state.lastError !== undefined) status.lastError = clip(state.lastError, MAX_ERROR_LENGTH);
    const ready = status.conditions[0];
    const previous = readyConditionOf(current);
    ready.lastTransitionTime =
      previous?.status === ready.status && typeof previous.lastTransitionTime === 'string'
        ? previous.lastTransitionTime
        : rfc3339(new Date(now));
    return status;
  }

  private mark(key: string): void {
    if (this.closed) return;
    this.dirty.add(key);
    if (this.kicked) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      void this.flush();
    });
  }

  private async drain(): Promise<void> {
    while (this.again && !this.closed) {
      this.again = false;
      await this.writeDue();
    }
  }

  private async writeDue(): Promise<void> {
    if (!this.leadership.leading) return;
    const now = this.now();
    const due: string[] = [];
    let nextTurn = Number.POSITIVE_INFINITY;
    for (const key of this.dirty) {
      const turn = (this.tracked.get(key)?.lastWriteAt ?? Number.NEGATIVE_INFINITY) + this.minIntervalMs;
      if (turn <= now) due.push(key);
      else nextTurn = Math.min(nextTurn, turn);
    }
    for (const key of due) this.dirty.delete(key);
    const workers = Array.from({ length: Math.min(this.concurrency, due.length) }, async () => {
      for (let key = due.pop(); key !== undefined && !this.closed; key = due.pop()) await this.sync(key);
    });
    await Promise.all(workers);
    clearTimeout(this.timer);
    if (Number.isFinite(nextTurn) && !this.closed) {
      this.timer = setTimeout(() => void this.flush(), Math.max(0, nextTurn - this.now()));
      this.timer.unref();
    }
  }

  /** Brings one object's status to what its state says, unless it says so already. */
  private async sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const state = this.inputs.get(namespace, name);
    if (!state) {
      this.tracked.delete(key);
      return;
    }
    const tracked = this.tracked.get(key) ?? { lastWriteAt: Number.NEGATIVE_INFINITY };
    this.tracked.set(key, tracked);
    const fingerprint = JSON.stringify(this.desiredStatus(state, undefined, 0));
    if (tracked.confirmed === fingerprint) return;
    try {
      for (let attempt = 0; attempt <= CONFLICT_RETRIES; attempt++) {
        const read = await this.statuses.read(namespace, name);
        if (!read) return this.gone(key);
        const now = this.now();
        const status = this.desiredStatus(state, read.status, now);
        if (isDeepStrictEqual(read.status, status)) {
          tracked.confirmed = fingerprint;
          this.writes.inc({ result: 'unchanged' });
          return;
        }
        if (!this.leadership.leading || this.closed) return this.keep(key);
        tracked.lastWriteAt = now;
        const result = await this.write(read, status);
        if (result === 'gone') return this.gone(key);
        if (result === 'written') {
          tracked.confirmed = fingerprint;
          return;
        }
      }
      throw new Error(`still 409 Conflict after ${CONFLICT_RETRIES + 1} tries`);
    } catch (error) {
      this.writes.inc({ result: 'failed' });
      tracked.lastWriteAt = this.now();
      this.keep(key);
      const fields = this.failureLog.fields();
      if (fields) {
        this.logger.warn(
          { ...fields, definition: key, err: (error as Error).message },
          'cannot write a MetricDefinition status; tried again at its next turn (metrics are served regardless)',
        );
      }
    }
  }

  private async write(read: ObjectWithStatus, status: DefinitionStatus): Promise<'written' | 'conflict' | 'gone'> {
    const result = await this.statuses.replace(read, status);
    this.writes.inc({ result });
    return result;
  }

  private keep(key: string): void {
    this.dirty.add(key);
  }

  private gone(key: string): void {
    this.writes.inc({ result: 'gone' });
    this.tracked.delete(key);
  }

  private hpasUsing(namespace: string, metric: string): string[] {
    if (!this.hpaSource) return [];
    this.hpaIndex ??= indexHpas(this.hpaSource.hpas());
    return (this.hpaIndex.get(namespace)?.get(metric) ?? []).slice(0, MAX_HPAS);
  }
}

function indexHpas(hpas: Iterable<HpaSummary>): Map<string, Map<string, string[]>> {
  const index = new Map<string, Map<string, string[]>>();
  for (const hpa of hpas) {
    for (const metric of hpa.metrics) {
      if (metric.type !== 'External') continue;
      const byMetric = index.get(hpa.namespace) ?? new Map<string, string[]>();
      index.set(hpa.namespace, byMetric);
      const names = byMetric.get(metric.metric.name) ?? [];
      if (!names.includes(hpa.name)) names.push(hpa.name);
      byMetric.set(metric.metric.name, names);
    }
  }
  for (const byMetric of index.values()) for (const names of byMetric.values()) names.sort();
  return index;
}

function readyConditionOf(status: unknown): { status?: unknown; lastTransitionTime?: unknown } | undefined {
  const conditions = (status as { conditions?: unknown } | undefined)?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return conditions.find((c) => (c as { type?: unknown } | undefined)?.type === 'Ready');
}

/** metav1.Time's wire form: RFC 3339 to the second. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
