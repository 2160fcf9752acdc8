import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { collectionPath } from '../kube/client.js';
import {
  DEFAULT_INFORMER_TIMINGS,
  type InformerStore,
  type InformerTimings,
  ListWatchInformer,
} from '../kube/list-watch-informer.js';
import { parseBody } from '../kube/metadata.js';
import { type KubeTransport, statusError } from '../kube/transport.js';
import { perRegistry } from '../lib/per-registry.js';
import type { Logger } from '../observability/logger.js';
import type { DefinitionsBackend } from './definitions-backend.js';
import { decodeDefinition, METRIC_DEFINITIONS, type MetricDefinition } from './resource.js';

const listSchema = z.object({
  metadata: z.object({ continue: z.string().nullish(), resourceVersion: z.string().nullish() }).nullish(),
  items: z.array(z.unknown()).nullish(),
});

const PAGE_SIZE = 500;

export type WatchState = 'not_synced' | 'serving' | 'crd_missing' | 'forbidden' | 'failing';

const definitionMetrics = perRegistry((registry: Registry) => {
  // Read when scraped: the backend of the running watch (one per process).
  const byReason = {
    backend: undefined as DefinitionsBackend | undefined,
    set(b: DefinitionsBackend) {
      this.backend = b;
    },
  };
  new Gauge({
    name: 'hpa_metrics_adapter_definitions',
    help: 'MetricDefinitions held, by the reason of their Ready condition (Valid, QueryInvalid, Forbidden, Conflict, BackendError, NoData).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const s of byReason.backend?.states.list() ?? []) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
      for (const [reason, count] of counts) this.set({ reason }, count);
    },
  });
  return {
    byReason,
    state: new Gauge({
      name: 'hpa_metrics_adapter_definitions_watch',
      help: 'The MetricDefinition watch: 1 for its current state (serving; crd_missing: the CRD is not installed; forbidden: RBAC refuses the watch; failing; not_synced).',
      labelNames: ['state'],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'hpa_metrics_adapter_definitions_dropped_total',
      help: 'MetricDefinitions not held: beyond definitions.maxTotal, or without readable metadata.',
      labelNames: ['why'],
      registers: [registry],
    }),
  };
});

export interface DefinitionWatchOptions {
  transport: KubeTransport;
  backend: DefinitionsBackend;
  logger: Logger;
  registry: Registry;
  /** Definitions held in all (definitions.maxTotal); more are left out and counted. */
  maxTotal: () => number;
  timings?: InformerTimings;
}

/**
 * The MetricDefinitions of every namespace, watched (LIST then WATCH with bookmarks, 410 relist,
 * backoff: the informer loop of src/kube) and handed to the definitions backend as whole objects.
 * Without the CRD or without RBAC to watch it the adapter serves as before; that is said once in
 * the log and shown by hpa_metrics_adapter_definitions_watch.
 */
export function watchDefinitions(options: DefinitionWatchOptions): { close(): Promise<void>; state(): WatchState } {
  const { transport, backend, logger } = options;
  const metrics = definitionMetrics(options.registry);
  metrics.byReason.set(backend);
  const collection = collectionPath(METRIC_DEFINITIONS, undefined);
  let state: WatchState = 'not_synced';
  const setState = (next: WatchState) => {
    state = next;
    metrics.state.reset();
    metrics.state.set({ state: next }, 1);
  };
  setState('not_synced');
  let saidMissing = false;

  const store: InformerStore<MetricDefinition> = {
    async list(signal) {
      const definitions: MetricDefinition[] = [];
      let continueToken: string | undefined;
      let resourceVersion = '';
      do {
        const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
        if (continueToken) query.set('continue', continueToken);
        const path = `${collection}?${query}`;
        const response = await transport.request('GET', path, undefined, signal);
        if (response.status < 200 || response.status > 299) throw statusError('GET', path, response);
        const page = parseBody('GET', path, listSchema, response);
        for (const item of page.items ?? []) {
          const definition = readable(item);
          if (definition && definitions.length < options.maxTotal()) definitions.push(definition);
          else if (definition) metrics.dropped.inc({ why: 'max_total' });
        }
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        continueToken = page.metadata?.continue ?? undefined;
      } while (continueToken);
      backend.replaceAll(definitions);
      setState('serving');
      return resourceVersion;
    },
    watchAccept: 'application/json',
    decode(raw) {
      const object = decodeDefinition(raw);
      return { object, resourceVersion: object.resourceVersion };
    },
    apply(change) {
      const { namespace, name } = change.object;
      if (change.type === 'DELETED') return backend.remove(namespace, name);
      if (!backend.definition(namespace, name) && backend.size >= options.maxTotal()) {
        metrics.dropped.inc({ why: 'max_total' });
        return;
      }
      backend.upsert(change.object);
    },
    clear: () => backend.replaceAll([]),
  };

  const readable = (item: unknown): MetricDefinition | undefined => {
    try {
      return decodeDefinition(item);
    } catch {
      metrics.dropped.inc({ why: 'unreadable' });
      return undefined;
    }
  };

  const informer = new ListWatchInformer<MetricDefinition>({
    transport,
    resource: METRIC_DEFINITIONS,
    store,
    logger,
    timings: options.timings ?? DEFAULT_INFORMER_TIMINGS,
    events: {
      relisted() {},
      watchRestarted(reason) {
        if (reason === 'error' && state === 'serving') setState('failing');
      },
      forbidden(message) {
        setState('forbidden');
        logger.warn(
          { err: message },
          'definitions: RBAC does not allow watching MetricDefinitions (see deploy/base/rbac-definitions.yaml); serving the config file only',
        );
      },
      overCap() {},
      missing() {
        setState('crd_missing');
        if (saidMissing) return;
        saidMissing = true;
        logger.warn(
          { resource: `${METRIC_DEFINITIONS.resource}.${METRIC_DEFINITIONS.group}` },
          'definitions: the MetricDefinition CRD is not installed (deploy/base/crd-metricdefinitions.yaml); serving the config file only, looking again with backoff',
        );
      },
    },
  });
  informer.start();
  return {
    state: () => state,
    close: () => informer.close(),
  };
}
