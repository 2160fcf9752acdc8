import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../observability/logger.js';
import type { InformerEvents, InformerHealth } from './list-watch-informer.js';
import type { MetadataInformer } from './metadata-informer.js';

export type FallbackReason = Exclude<InformerHealth, 'serving'> | 'not_watched';

export interface InformerMetrics {
  eventsFor(resource: string): InformerEvents;
  fallback(resource: string, reason: FallbackReason): void;
}

/**
 * The informers' health in /metrics: objects held, relists, watch restarts, LIST fallbacks,
 * age of the last event, whether a watch is forbidden, and caps passed. Gauges read the informers
 * when scraped; a forbidden watch and a cap passed are also logged, once per resource.
 */
export function createInformerMetrics(
  registry: Registry,
  logger: Logger,
  informers: ReadonlyMap<string, MetadataInformer>,
  now: () => number,
): InformerMetrics {
  const registers = [registry];
  new Gauge({
    name: 'hpa_metrics_adapter_informer_objects',
    help: 'Objects held by the metadata informer of each watched resource.',
    labelNames: ['resource'],
    registers,
    collect() {
      for (const [resource, informer] of informers) this.set({ resource }, informer.index.size);
    },
  });
  new Gauge({
    name: 'hpa_metrics_adapter_informer_last_event_age_seconds',
    help: 'Seconds since the last watch event or bookmark of each watched resource (absent before the first).',
    labelNames: ['resource'],
    registers,
    collect() {
      for (const [resource, informer] of informers) {
        if (informer.lastEventAt !== undefined) this.set({ resource }, (now() - informer.lastEventAt) / 1000);
      }
    },
  });
  new Gauge({
    name: 'hpa_metrics_adapter_informer_serving',
    help: 'Per watched resource: 1 when selectors are answered from the informer, 0 while they fall back to LIST; `state` says why.',
    labelNames: ['resource', 'state'],
    registers,
    collect() {
      this.reset();
      for (const [resource, informer] of informers) {
        const state = informer.health();
        this.set({ resource, state }, state === 'serving' ? 1 : 0);
      }
    },
  });
  const relists = new Counter({
    name: 'hpa_metrics_adapter_informer_relists_total',
    help: 'Full metadata LISTs by informers: initial, expired (410 after a watch), retry (after a failed LIST).',
    labelNames: ['resource', 'reason'],
    registers,
  });
  const restarts = new Counter({
    name: 'hpa_metrics_adapter_informer_watch_restarts_total',
    help: 'Watches ended and restarted: closed (server timeout), expired (410), empty (ended early with no event or bookmark), error, forbidden (403).',
    labelNames: ['resource', 'reason'],
    registers,
  });
  const fallbacks = new Counter({
    name: 'hpa_metrics_adapter_informer_list_fallbacks_total',
    help: 'Selector requests answered by a metadata-only LIST instead of the informer, by reason.',
    labelNames: ['resource', 'reason'],
    registers,
  });
  const capsExceeded = new Counter({
    name: 'hpa_metrics_adapter_informer_cap_exceeded_total',
    help: 'Times an informer outgrew a cap (cap="objects": --watch-max-objects, "label_bytes": --watch-max-label-bytes) and dropped its index.',
    labelNames: ['resource', 'cap'],
    registers,
  });
  const reportedForbidden = new Set<string>();
  const reportedOverCap = new Set<string>();
  return {
    eventsFor(resource) {
      return {
        relisted: (reason) => relists.inc({ resource, reason }),
        watchRestarted: (reason) => restarts.inc({ resource, reason }),
        forbidden(message) {
          if (reportedForbidden.has(resource)) return;
          reportedForbidden.add(resource);
          logger.warn(
            { resource, err: message },
            'watch forbidden by RBAC (watch, or list across all namespaces): selector requests fall back to a LIST per request (grant cluster-wide "list" and "watch" to the adapter, see deploy/base/rbac-resource-reader.yaml)',
          );
        },
        overCap(error) {
          capsExceeded.inc({ resource, cap: error.cap });
          if (reportedOverCap.has(resource)) return;
          reportedOverCap.add(resource);
          logger.warn(
            { resource, cap: error.cap, limit: error.limit, err: error.message },
            'informer over its cap: index dropped, selector requests fall back to a LIST by selector (retried later; raise the flag if the cluster is this large)',
          );
        },
      };
    },
    fallback: (resource, reason) => fallbacks.inc({ resource, reason }),
  };
}
