import type { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { ApiError } from '../api/errors.js';
import type { ResourceResolver } from '../api/resource-table.js';
import { formatGroupKind, resourceOfKind } from '../api/resources.js';
import type { Logger } from '../observability/logger.js';
import { collectionPath } from './client.js';
import { type HpaChange, HpaInformer, type HpaObjectReference, type HpaSummary } from './hpa-informer.js';
import type { InformerHealth, InformerTimings } from './list-watch-informer.js';
import { parseBody } from './metadata.js';
import { KubeTransport, statusError } from './transport.js';

/** The cluster's HPAs for HPA-aware refresh, and the one other read it needs: a scale target's pod selector. */
export interface HpaWatch {
  hpas(): Iterable<HpaSummary>;
  subscribe(listener: (change: HpaChange) => void): () => void;
  health(): InformerHealth;
  /** `status.selector` of the target's scale subresource, as the HPA controller reads it for Pods metrics. */
  targetSelector(namespace: string, target: HpaObjectReference, signal: AbortSignal): Promise<string>;
  start(): void;
  close(): Promise<void>;
}

export interface HpaWatchOptions {
  logger: Logger;
  /** Maps a scale target's kind to its resource, as the controller's RESTMapper does. */
  resources: ResourceResolver;
  timings?: Partial<InformerTimings>;
}

const scaleSchema = z.object({ status: z.object({ selector: z.string().nullish() }).nullish() });

/**
 * The HPA informer on its own connection, with its events said as HPA-aware refresh means them:
 * without RBAC to list and watch HPAs, one warning, and the adapter caches values as requests
 * come, as it did before (the informer retries every 5 minutes, should RBAC be granted later).
 */
export function createHpaWatch(kubeConfig: KubeConfig, options: HpaWatchOptions): HpaWatch {
  const { logger } = options;
  const transport = new KubeTransport(kubeConfig, { userAgent: 'hpa-metrics-adapter/hpa-refresh' });
  let saidForbidden = false;
  const informer = new HpaInformer({
    transport,
    logger,
    ...(options.timings ? { timings: options.timings } : {}),
    events: {
      relisted: (reason) => logger.debug({ reason }, 'HPAs listed'),
      watchRestarted: (reason) => logger.debug({ reason }, 'HPA watch restarted'),
      forbidden(message) {
        if (saidForbidden) return;
        saidForbidden = true;
        logger.warn(
          { err: message },
          'HPA-aware refresh is off: RBAC forbids listing and watching horizontalpodautoscalers.autoscaling; values are cached as requests come, as without it (grant "list" and "watch" on them, see deploy/base/rbac-resource-reader.yaml)',
        );
      },
      overCap: (error) => logger.warn({ err: error.message }, 'too many HPAs to hold: HPA-aware refresh is off'),
    },
  });
  return {
    hpas: () => informer.hpas(),
    subscribe: (listener) => informer.subscribe(listener),
    health: () => informer.health(),
    async targetSelector(namespace, target, signal) {
      const found = resourceOfKind(target, options.resources);
      if (!found) throw ApiError.notFound(`no resource of kind ${formatGroupKind(target)} is served`);
      const path = `${collectionPath(found, namespace)}/${encodeURIComponent(target.name)}/scale`;
      const response = await transport.request('GET', path, undefined, signal);
      if (response.status !== 200) throw statusError('GET', path, response);
      const selector = parseBody('GET', path, scaleSchema, response).status?.selector;
      if (!selector) throw ApiError.notFound(`the scale of ${target.kind} ${namespace}/${target.name} has no selector`);
      return selector;
    },
    start: () => informer.start(),
    async close() {
      await informer.close();
      transport.close();
    },
  };
}
