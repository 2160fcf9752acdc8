import { z } from 'zod';
import { allowedNamespaces, finiteNumber, labelMap, metricName } from '../../schema/fields.js';

const staticObject = z
  .object({
    namespace: z.string().min(1).max(63).optional(),
    name: z.string().min(1).max(253),
    labels: labelMap.default({}),
    value: finiteNumber,
  })
  .strict();

const staticCustomMetric = z
  .object({
    metric: metricName,
    /** `pods`, `services`, `deployments.apps`, `nodes` … */
    resource: z.string().min(1),
    windowSeconds: z.number().int().positive().optional(),
    objects: z.array(staticObject).min(1),
  })
  .strict();

const staticSeries = z.object({ labels: labelMap.default({}), value: finiteNumber }).strict();

const staticExternalMetric = z
  .object({
    metric: metricName,
    namespaces: allowedNamespaces,
    series: z.array(staticSeries).min(1),
  })
  .strict();

/** The `static:` section: fixed values served as metrics. */
export const staticBackendSchema = z
  .object({
    custom: z.array(staticCustomMetric).default([]),
    external: z.array(staticExternalMetric).default([]),
  })
  .strict();

export type StaticBackendConfig = z.infer<typeof staticBackendSchema>;
