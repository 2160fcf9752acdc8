import type { KubeConfig } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import type { Registry } from 'prom-client';
import type { ResourceResolver } from '../api/resource-table.js';
import { parseSelector } from '../api/selector.js';
import type { Logger } from '../observability/logger.js';
import { collectionPath } from './client.js';
import { createInformerMetrics } from './informer-metrics.js';
import { DEFAULT_INFORMER_TIMINGS, type InformerTimings } from './list-watch-informer.js';
import { listMetadata } from './metadata.js';
import { MetadataInformer } from './metadata-informer.js';
import { DEFAULT_OBJECT_CAPS, type ObjectCaps } from './object-caps.js';
import { KubeTransport, type KubeTransportOptions } from './transport.js';
import type { ObjectLister, ObjectSummary, ResourceRef } from './types.js';

export interface ObjectInformersOptions extends KubeTransportOptions {
  logger: Logger;
  registry: Registry;
  /**
   * Which resources may be watched, by any name kubectl takes (`pods`, `po`, `deployments.apps`,
   * `deploy`), or `*` for any. Others are listed (metadata only) per request.
   */
  watchResources: readonly string[];
  /** Resolves those names as the cluster's discovery does; without it they must be `resource[.group]`. */
  resources?: ResourceResolver;
  /** Objects per LIST page. Default 500. */
  listPageSize?: number;
  timings?: Partial<InformerTimings>;
  /** What one resource's index, or one LIST, may hold. Defaults: DEFAULT_OBJECT_CAPS. */
  caps?: Partial<ObjectCaps>;
  now?: () => number;
  random?: () => number;
}

export interface ObjectInformers extends ObjectLister {
  /** The informer of a resource, once a request started it (for tests and metrics). */
  informer(resource: ResourceRef): MetadataInformer | undefined;
  close(): Promise<void>;
}

/**
 * Selections kept per (resource, namespace, selector), as the HPAs of a cluster ask the same few
 * over and over: at most this many, referring to at most this many objects in all.
 */
const KEPT_SELECTIONS = 4096;
const KEPT_SELECTION_OBJECTS = 200_000;

interface Selection {
  informer: MetadataInformer;
  generation: number;
  objects: readonly ObjectSummary[];
}

/**
 * Selector requests answered from metadata-only informers: the first request for a resource
 * starts its informer (LIST then WATCH) and is answered by a metadata-only LIST, as is every
 * request until the informer has synced, while its watch is forbidden, or while it has been
 * failing for longer than `failureToleranceMs`, or once it outgrew its caps. Each such LIST is
 * counted as a fallback and held to the same caps (more answers 503).
 * An answer from the index is a frozen array, handed out again while its namespace is unchanged.
 */
export function createObjectInformers(kubeConfig: KubeConfig, options: ObjectInformersOptions): ObjectInformers {
  const transport = new KubeTransport(kubeConfig, { userAgent: 'hpa-metrics-adapter/informer', ...options });
  const pageSize = options.listPageSize ?? 500;
  const timings = { ...DEFAULT_INFORMER_TIMINGS, ...options.timings };
  const caps = { ...DEFAULT_OBJECT_CAPS, ...options.caps };
  const informers = new Map<string, MetadataInformer>();
  const metrics = createInformerMetrics(options.registry, options.logger, informers, options.now ?? Date.now);
  const watchAll = options.watchResources.includes('*');
  const mayWatch = (key: string) =>
    watchAll ||
    options.watchResources.some((name) => {
      const resolved = options.resources?.resolve(name);
      return (resolved ? resourceKey(resolved) : name) === key;
    });
  const selections = new LRUCache<string, Selection>({
    max: KEPT_SELECTIONS,
    maxSize: KEPT_SELECTION_OBJECTS,
    sizeCalculation: (selection) => selection.objects.length + 1,
  });

  /** The index's answer, handed out again (the same frozen array) until the namespace changes. */
  function select(informer: MetadataInformer, key: string, namespace: string | undefined, text: string) {
    const memoKey = `${key}\0${namespace ?? ''}\0${text}`;
    const generation = informer.index.generation(namespace);
    const kept = selections.get(memoKey);
    if (kept?.informer === informer && kept.generation === generation) return kept.objects;
    const objects = Object.freeze(informer.index.select(namespace, parseSelector(text)));
    if (objects.length < KEPT_SELECTION_OBJECTS) selections.set(memoKey, { informer, generation, objects });
    return objects;
  }

  function informerFor(resource: ResourceRef): MetadataInformer | undefined {
    const key = resourceKey(resource);
    let informer = informers.get(key);
    if (!informer && mayWatch(key)) {
      informer = new MetadataInformer({
        transport,
        resource,
        pageSize,
        logger: options.logger,
        events: metrics.eventsFor(key),
        timings,
        caps,
        ...(options.now ? { now: options.now } : {}),
        ...(options.random ? { random: options.random } : {}),
      });
      informers.set(key, informer);
      informer.start();
      options.logger.info({ resource: key }, 'watching metadata for selector requests');
    }
    return informer;
  }

  return {
    async listObjects(resource, namespace, labelSelector, deadline) {
      const key = resourceKey(resource);
      const informer = informerFor(resource);
      if (informer) {
        const health = informer.health();
        if (health === 'serving') return select(informer, key, namespace, labelSelector);
        metrics.fallback(key, health);
      } else {
        metrics.fallback(key, 'not_watched');
      }
      const collection = collectionPath(resource, namespace);
      // The only place the caller's signal is read: a LIST waits on the API server.
      return (await listMetadata(transport, collection, labelSelector, pageSize, deadline?.signal, caps)).objects;
    },
    informer: (resource) => informers.get(resourceKey(resource)),
    async close() {
      await Promise.all([...informers.values()].map((informer) => informer.close()));
      transport.close();
    },
  };
}

/** `pods`, `deployments.apps`: the form kubectl and RBAC use. */
export function resourceKey(resource: Pick<ResourceRef, 'group' | 'resource'>): string {
  return resource.group === '' ? resource.resource : `${resource.resource}.${resource.group}`;
}
