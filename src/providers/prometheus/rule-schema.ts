import { z } from 'zod';
import { headerValue } from './header-fields.js';

const regexFilter = z
  .object({ is: z.string().optional(), isNot: z.string().optional() })
  .strict()
  .refine((f) => (f.is ? 1 : 0) + (f.isNot ? 1 : 0) === 1, {
    message: 'a series filter needs exactly one of `is` or `isNot`',
  });

const groupResource = z.object({ group: z.string().optional(), resource: z.string().min(1) }).strict();

export const resourceMapping = z
  .object({
    /** A `<< >>` template over .Group and .Resource naming the label of any resource, e.g. `<<.Resource>>`. */
    template: z.string().optional(),
    /** Label name → group/resource, for labels the template does not describe. */
    overrides: z.record(z.string().min(1), groupResource).optional(),
    /** External rules only: false stops the `namespace="<ns>"` matcher being added to the query. */
    namespaced: z.boolean().optional(),
  })
  .strict();

const nameMapping = z
  .object({
    /** Regular expression (Go RE2 syntax) the series name must match; empty means `.*`. */
    matches: z.string().optional(),
    /** The API metric name, with `$1` / `${name}` captures; defaults to `$0` or `$1` as prometheus-adapter does. */
    as: z.string().optional(),
  })
  .strict();

const labelValueReplacement = z.object({ find: z.string().optional(), replace: z.string().optional() }).strict();

/** One of prometheus-adapter's `rules` or `externalRules`, field for field (plus `server`, `tenant`, `nan`). */
export const discoveryRuleSchema = z
  .object({
    seriesQuery: z.string().min(1, 'seriesQuery must not be empty'),
    seriesFilters: z.array(regexFilter).nullish(),
    resources: resourceMapping.nullish(),
    name: nameMapping.nullish(),
    metricsQuery: z.string().min(1, 'metricsQuery must not be empty'),
    labelValueReplacements: z.array(labelValueReplacement).nullish(),
    /** The `prometheus.servers` entry this rule queries; default: the first (or only) server. */
    server: z.string().min(1).optional(),
    /** X-Scope-OrgID of this rule's series and metric queries, over its server's `tenant`. */
    tenant: headerValue.min(1).optional(),
    /**
     * What a NaN result is: `zero` (default) serves 0, as prometheus-adapter does for custom metrics;
     * `noData` leaves the object out, so the metric's noData policy answers. Not a prometheus-adapter field.
     */
    nan: z.enum(['zero', 'noData']).optional(),
  })
  .strict();

export type DiscoveryRuleConfig = z.infer<typeof discoveryRuleSchema>;
