import { z } from 'zod';
import type { MetaLabelSelector } from '../api/selector.js';
import type { Logger } from '../observability/logger.js';
import { collectionPath } from './client.js';
import {
  DEFAULT_INFORMER_TIMINGS,
  type InformerEvents,
  type InformerTimings,
  ListWatchInformer,
} from './list-watch-informer.js';
import { listPages } from './metadata.js';
import { ObjectCapError } from './object-caps.js';
import type { KubeTransport } from './transport.js';
import type { ResourceRef } from './types.js';

export const HPA_RESOURCE: ResourceRef = { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers' };

/** What the HPA controller reads a metric by: its name and, optionally, a selector of its series. */
export interface HpaMetricIdentifier {
  name: string;
  selector?: MetaLabelSelector;
}

/** An object named by kind: the HPA's scale target, or an Object metric's described object. */
export interface HpaObjectReference {
  /** `apps/v1`, `v1`; empty when the HPA left it out. */
  apiVersion: string;
  kind: string;
  name: string;
}

/** The metrics of an HPA this adapter may serve; Resource and ContainerResource metrics are not ours. */
export type HpaMetric =
  | { type: 'External'; metric: HpaMetricIdentifier }
  | { type: 'Object'; describedObject: HpaObjectReference; metric: HpaMetricIdentifier }
  | { type: 'Pods'; metric: HpaMetricIdentifier };

/** Only what decides the reads the HPA controller will make; the rest of the object is not kept. */
export interface HpaSummary {
  namespace: string;
  name: string;
  scaleTargetRef: HpaObjectReference;
  minReplicas?: number;
  metrics: readonly HpaMetric[];
}

/** metav1.LabelSelector as the API serves it (explain hpa reads HPAs with it too). */
export const selectorSchema = z.object({
  matchLabels: z.record(z.string(), z.string()).nullish(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).nullish(),
      }),
    )
    .nullish(),
});
const identifierSchema = z.object({ name: z.string().min(1), selector: selectorSchema.nullish() });
export const referenceSchema = z.object({
  apiVersion: z.string().nullish(),
  kind: z.string().min(1),
  name: z.string().min(1),
});
const metricSchema = z.object({
  type: z.string(),
  external: z.object({ metric: identifierSchema }).nullish(),
  object: z.object({ describedObject: referenceSchema, metric: identifierSchema }).nullish(),
  pods: z.object({ metric: identifierSchema }).nullish(),
});
const hpaSchema = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string(), resourceVersion: z.string().nullish() }),
  spec: z.object({
    scaleTargetRef: referenceSchema,
    minReplicas: z.number().int().nullish(),
    metrics: z.array(metricSchema).nullish(),
  }),
});

/** Reads one autoscaling/v2 HorizontalPodAutoscaler; throws when it is not one. */
export function decodeHpa(object: unknown): { object: HpaSummary; resourceVersion: string } {
  const { metadata, spec } = hpaSchema.parse(object);
  const summary: HpaSummary = {
    namespace: metadata.namespace,
    name: metadata.name,
    scaleTargetRef: referenceOf(spec.scaleTargetRef),
    metrics: (spec.metrics ?? []).flatMap((metric) => hpaMetricOf(metric) ?? []),
  };
  if (spec.minReplicas !== undefined && spec.minReplicas !== null) summary.minReplicas = spec.minReplicas;
  return { object: summary, resourceVersion: metadata.resourceVersion ?? '' };
}

/** A metric spec of the API as the HPA controller's metrics clients read it (explain hpa passes its full specs). */
export type HpaMetricFields = z.infer<typeof metricSchema>;

/** The metric this adapter may serve, or undefined for Resource metrics and a spec without its type's field. */
export function hpaMetricOf(metric: HpaMetricFields): HpaMetric | undefined {
  if (metric.type === 'External' && metric.external)
    return { type: 'External', metric: identifierOf(metric.external.metric) };
  if (metric.type === 'Pods' && metric.pods) return { type: 'Pods', metric: identifierOf(metric.pods.metric) };
  if (metric.type === 'Object' && metric.object) {
    const { describedObject, metric: identifier } = metric.object;
    return { type: 'Object', describedObject: referenceOf(describedObject), metric: identifierOf(identifier) };
  }
  return undefined;
}

function identifierOf(identifier: z.infer<typeof identifierSchema>): HpaMetricIdentifier {
  const { selector } = identifier;
  if (!selector) return { name: identifier.name };
  const meta: MetaLabelSelector = {};
  if (selector.matchLabels) meta.matchLabels = selector.matchLabels;
  if (selector.matchExpressions)
    meta.matchExpressions = selector.matchExpressions.map(({ key, operator, values }) =>
      values ? { key, operator, values } : { key, operator },
    );
  return { name: identifier.name, selector: meta };
}

function referenceOf(reference: z.infer<typeof referenceSchema>): HpaObjectReference {
  return { apiVersion: reference.apiVersion ?? '', kind: reference.kind, name: reference.name };
}

/** What a change to the HPAs held means to a listener: one HPA changed or went, or every one was listed anew. */
export type HpaChange =
  | { type: 'upsert'; hpa: HpaSummary }
  | { type: 'delete'; namespace: string; name: string }
  | { type: 'replaced' };

export interface HpaInformerOptions {
  transport: KubeTransport;
  logger: Logger;
  events: InformerEvents;
  timings?: Partial<InformerTimings>;
  /** HPAs held at most; past it the informer drops them and tries again later (ObjectCapError). Default 100,000. */
  maxHpas?: number;
  pageSize?: number;
  now?: () => number;
  random?: () => number;
}

const DEFAULT_MAX_HPAS = 100_000;

/**
 * LIST then WATCH of every autoscaling/v2 HorizontalPodAutoscaler, on the informer loop of
 * list-watch-informer.ts (resume, bookmarks, 410 relist, backoff, forbidden and cap retries),
 * keeping of each only what decides the reads the HPA controller will make (HpaSummary).
 * Listeners hear of every change once the store holds it.
 */
export class HpaInformer extends ListWatchInformer<HpaSummary> {
  private readonly held = new Map<string, HpaSummary>();
  private readonly listeners = new Set<(change: HpaChange) => void>();

  constructor(options: HpaInformerOptions) {
    const collection = collectionPath(HPA_RESOURCE, undefined);
    const maxHpas = options.maxHpas ?? DEFAULT_MAX_HPAS;
    const held = () => this.held;
    const tell = (change: HpaChange) => this.tell(change);
    const what = `the informer of ${collection}`;
    super({
      transport: options.transport,
      resource: HPA_RESOURCE,
      logger: options.logger,
      events: options.events,
      timings: { ...DEFAULT_INFORMER_TIMINGS, ...options.timings },
      ...(options.now ? { now: options.now } : {}),
      ...(options.random ? { random: options.random } : {}),
      store: {
        async list(signal) {
          const listed = new Map<string, HpaSummary>();
          const page = {
            labelSelector: '',
            pageSize: options.pageSize ?? 500,
            accept: 'application/json',
            item: z.unknown(),
            signal,
          };
          const resourceVersion = await listPages(options.transport, collection, page, (item) => {
            const hpa = decodeListed(item, options.logger);
            if (!hpa) return;
            listed.set(keyOf(hpa.namespace, hpa.name), hpa);
            if (listed.size > maxHpas) throw new ObjectCapError('objects', maxHpas, what);
          });
          const map = held();
          map.clear();
          for (const [key, hpa] of listed) map.set(key, hpa);
          tell({ type: 'replaced' });
          return resourceVersion;
        },
        watchAccept: 'application/json',
        decode: decodeHpa,
        apply(change) {
          const { namespace, name } = change.object;
          const map = held();
          if (change.type === 'DELETED') {
            if (map.delete(keyOf(namespace, name))) tell({ type: 'delete', namespace, name });
            return;
          }
          map.set(keyOf(namespace, name), change.object);
          if (map.size > maxHpas) throw new ObjectCapError('objects', maxHpas, what);
          tell({ type: 'upsert', hpa: change.object });
        },
        clear() {
          held().clear();
          tell({ type: 'replaced' });
        },
      },
    });
  }

  /** Every HPA held now. */
  hpas(): IterableIterator<HpaSummary> {
    return this.held.values();
  }

  get size(): number {
    return this.held.size;
  }

  /** Calls `listener` on every change from now on; returns how to stop. */
  subscribe(listener: (change: HpaChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tell(change: HpaChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** An HPA the API server lists but this adapter cannot read is left out and logged, not fatal to the rest. */
function decodeListed(item: unknown, logger: Logger): HpaSummary | undefined {
  try {
    return decodeHpa(item).object;
  } catch (error) {
    logger.warn({ err: (error as Error).message }, 'an HorizontalPodAutoscaler of unexpected shape is left out');
    return undefined;
  }
}
