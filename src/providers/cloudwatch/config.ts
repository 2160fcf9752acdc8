import { z } from 'zod';
import { ACCOUNT_ID_PATTERN, allowedNamespaces, awsConnectionFields, externalMetricName } from '../aws/config.js';
import { failurePolicySchema } from '../failure-policy/config.js';

/** CloudWatch accepts these periods: high-resolution 1, 5, 10, 20, 30 s, else whole minutes. */
const period = z
  .number()
  .int()
  .positive()
  .refine(
    (p) => [1, 5, 10, 20, 30].includes(p) || p % 60 === 0,
    'must be 1, 5, 10, 20, 30 or a multiple of 60 seconds',
  );

/** CloudWatch's Id rule; 200 leaves room for the `q<n>_` prefix batching adds (Ids may be 255 long). */
const queryId = z
  .string()
  .max(200)
  .regex(/^[a-z][a-zA-Z0-9_]*$/, 'must start with a lower-case letter and contain only letters, digits and _');

/** `${selector.<label>}` in a dimension value is replaced by that label's value from the metric selector. */
export const SELECTOR_PLACEHOLDER = /\$\{selector\.([^}]*)\}/g;

const dimension = z
  .object({ name: z.string().min(1).max(255), value: z.string().min(1).max(1024) })
  .strict()
  .refine(
    (d) => [...d.value.matchAll(SELECTOR_PLACEHOLDER)].every((match) => (match[1] ?? '') !== ''),
    `a placeholder must name a label: \${selector.<label>}`,
  );

const metricStat = z
  .object({
    namespace: z.string().min(1).max(255),
    metricName: z.string().min(1).max(255),
    dimensions: z.array(dimension).max(30).default([]),
    /** Defaults to the metric's period. */
    period: period.optional(),
    /** Average, Sum, Minimum, Maximum, SampleCount, p99, tm90 … as CloudWatch spells it. */
    stat: z.string().min(1).max(100),
    unit: z.string().min(1).max(100).optional(),
  })
  .strict();

const query = z
  .object({
    id: queryId,
    metricStat: metricStat.optional(),
    /** Metric math over the other queries' Ids, or a SEARCH expression. */
    expression: z.string().min(1).max(2048).optional(),
    label: z.string().min(1).max(1024).optional(),
    /** Which query is the metric's value; with a single query it is that one. */
    returnData: z.boolean().optional(),
  })
  .strict()
  .refine(
    (q) => (q.metricStat === undefined) !== (q.expression === undefined),
    'set exactly one of metricStat and expression',
  );

const metric = z
  .object({
    name: externalMetricName,
    namespaces: allowedNamespaces,
    /** The account the metric lives in, read with that account's role (`accounts`); default the adapter's own. */
    accountId: z.string().regex(ACCOUNT_ID_PATTERN, 'must be a 12-digit AWS account id').optional(),
    /** Seconds; the end of the window is aligned to it. */
    period: period.default(60),
    /** Seconds left out at the end, for CloudWatch's late datapoints. */
    lag: z.number().int().min(0).max(86_400).default(60),
    /** Seconds of datapoints asked for, ending at the aligned end time; default 5 periods. */
    window: z.number().int().positive().max(1_296_000).optional(),
    /** Kept from before failure policies: the same as failurePolicy.noData, which wins. */
    noData: failurePolicySchema.shape.noData,
    failurePolicy: failurePolicySchema.optional(),
    queries: z.array(query).min(1).max(500),
  })
  .strict()
  .superRefine((m, context) => {
    const ids = m.queries.map((q) => q.id);
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
    if (duplicate !== undefined) {
      context.addIssue({ code: 'custom', path: ['queries'], message: `query id "${duplicate}" is used twice` });
    }
    const returning = m.queries.filter((q) => q.returnData ?? m.queries.length === 1);
    if (returning.length !== 1) {
      context.addIssue({
        code: 'custom',
        path: ['queries'],
        message: `exactly one query must have returnData: true (it gives the value); found ${returning.length}`,
      });
    }
    if (m.window !== undefined && m.window < m.period) {
      context.addIssue({ code: 'custom', path: ['window'], message: 'must be at least one period' });
    }
  })
  .transform((m) => ({
    ...m,
    window: m.window ?? 5 * m.period,
    queries: m.queries.map((q) => ({ ...q, returnData: q.returnData ?? m.queries.length === 1 })),
  }));

export const cloudWatchBackendSchema = z
  .object({
    ...awsConnectionFields,
    /** Every metric's failure policy unless the metric sets its own. */
    failurePolicy: failurePolicySchema.optional(),
    /** Milliseconds queries wait for others to share their GetMetricData call; 0 batches only what arrives at once. */
    batchWindowMs: z.number().int().min(0).max(1000).default(5),
    /** Queries per GetMetricData call; CloudWatch's limit is 500. */
    maxQueriesPerCall: z.number().int().min(1).max(500).default(500),
    metrics: z.array(metric).default([]),
  })
  .strict()
  .superRefine((section, context) => {
    const names = section.metrics.map((m) => m.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate !== undefined) {
      context.addIssue({ code: 'custom', path: ['metrics'], message: `metric name "${duplicate}" is used twice` });
    }
    for (const [index, m] of section.metrics.entries()) {
      if (m.queries.length > section.maxQueriesPerCall) {
        context.addIssue({
          code: 'custom',
          path: ['metrics', index, 'queries'],
          message: `has ${m.queries.length} queries, more than maxQueriesPerCall (${section.maxQueriesPerCall})`,
        });
      }
    }
  });

export type CloudWatchBackendConfig = z.infer<typeof cloudWatchBackendSchema>;
export type CloudWatchMetricConfig = CloudWatchBackendConfig['metrics'][number];
