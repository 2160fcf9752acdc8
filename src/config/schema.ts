import { z } from 'zod';
import { cacheConfigSchema } from '../cache/config.js';
import { cloudWatchBackendSchema } from '../providers/cloudwatch/config.js';
import {
  liftPrometheusAdapterKeys,
  prometheusAdapterTopLevelKeys,
  prometheusSectionSchema,
} from '../providers/prometheus/config.js';
import { sqsBackendSchema } from '../providers/sqs/config.js';

// Metric names travel in URL path segments and discovery names: keep them to a safe set.
const metricName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.:]*[A-Za-z0-9])?$/, 'must be letters, digits, - _ . : and start/end alphanumeric');

const labels = z.record(z.string().min(1).max(317), z.string().max(63));

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const staticObject = z
  .object({
    namespace: z.string().min(1).max(63).optional(),
    name: z.string().min(1).max(253),
    labels: labels.default({}),
    value: finite,
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

const staticSeries = z.object({ labels: labels.default({}), value: finite }).strict();

const staticExternalMetric = z
  .object({
    metric: metricName,
    /** Namespaces that may read the metric; absent means every namespace. */
    namespaces: z.array(z.string().min(1)).optional(),
    series: z.array(staticSeries).min(1),
  })
  .strict();

export const staticBackendSchema = z
  .object({
    custom: z.array(staticCustomMetric).default([]),
    external: z.array(staticExternalMetric).default([]),
  })
  .strict();

export const configSchema = z.preprocess(
  liftPrometheusAdapterKeys,
  z
    .object({
      static: staticBackendSchema.optional(),
      sqs: sqsBackendSchema.optional(),
      cloudwatch: cloudWatchBackendSchema.optional(),
      cache: cacheConfigSchema.optional(),
      prometheus: prometheusSectionSchema.optional(),
      ...prometheusAdapterTopLevelKeys,
    })
    .strict(),
);

export type AdapterConfig = z.infer<typeof configSchema>;
export type StaticBackendConfig = z.infer<typeof staticBackendSchema>;
export type StaticCustomMetricConfig = z.infer<typeof staticCustomMetric>;
export type StaticExternalMetricConfig = z.infer<typeof staticExternalMetric>;
