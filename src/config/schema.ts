import { z } from 'zod';
import { cacheConfigSchema } from '../cache/config.js';
import { cloudWatchBackendSchema } from '../providers/cloudwatch/config.js';
import {
  liftPrometheusAdapterKeys,
  prometheusAdapterTopLevelKeys,
  prometheusSectionSchema,
} from '../providers/prometheus/config.js';
import { sqsBackendSchema } from '../providers/sqs/config.js';
import { staticBackendSchema } from '../providers/static/config.js';
import { upstreamsSchema } from '../upstreams/config.js';

export const configSchema = z.preprocess(
  liftPrometheusAdapterKeys,
  z
    .object({
      static: staticBackendSchema.optional(),
      sqs: sqsBackendSchema.optional(),
      cloudwatch: cloudWatchBackendSchema.optional(),
      cache: cacheConfigSchema.optional(),
      prometheus: prometheusSectionSchema.optional(),
      upstreams: upstreamsSchema.optional(),
      ...prometheusAdapterTopLevelKeys,
    })
    .strict(),
);

export type AdapterConfig = z.infer<typeof configSchema>;
