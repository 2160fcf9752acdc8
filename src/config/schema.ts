import { z } from 'zod';
import { definitionsPolicySchema } from '../definitions/policy-config.js';
import { liftPrometheusAdapterKeys, prometheusAdapterTopLevelKeys } from '../providers/prometheus/config.js';
import { type AnyBackendModule, BACKEND_MODULES, backendSections, cacheSectionFor } from '../providers/registry.js';
import { upstreamsSchema } from '../upstreams/config.js';

/** The config file's schema over these backends: one section each, their caches, and upstreams. */
export function configSchemaFor<const Modules extends readonly AnyBackendModule[]>(modules: Modules) {
  return z.preprocess(
    liftPrometheusAdapterKeys,
    z
      .object({
        ...backendSections(modules),
        cache: cacheSectionFor(modules).optional(),
        upstreams: upstreamsSchema.optional(),
        /** MetricDefinitions: whether teams may define metrics, and what each namespace may read. */
        definitions: definitionsPolicySchema.optional(),
        ...prometheusAdapterTopLevelKeys,
      })
      .strict(),
  );
}

export const configSchema = configSchemaFor(BACKEND_MODULES);

export type AdapterConfig = z.infer<typeof configSchema>;
