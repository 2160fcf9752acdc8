import { z } from 'zod';
import { parsePrometheusDuration } from '../../lib/duration.js';
import { resourceMapping } from './rule-schema.js';

/**
 * prometheus-adapter's `resourceRules`, field for field: how CPU and memory of containers and
 * nodes are read from Prometheus for metrics.k8s.io (src/resource-metrics/ serves them). Each
 * query is a `<< >>` template over .Series (empty), .LabelMatchers, .LabelValuesByName, .GroupBy
 * and .GroupBySlice, as `metricsQuery` is.
 */
const resourceRule = z
  .object({
    /** Usage per container: must keep the pod, namespace and container labels (GroupBy holds them). */
    containerQuery: z.string().min(1, 'containerQuery must not be empty'),
    /** Usage per node: must keep the node label (GroupBy holds it). */
    nodeQuery: z.string().min(1, 'nodeQuery must not be empty'),
    /** Which label names pods, namespaces and nodes (overrides, or a template). */
    resources: resourceMapping,
    /** The label holding the container name. */
    containerLabel: z.string().min(1, 'containerLabel must name the container label, e.g. container'),
  })
  .strict();

/** prometheus-adapter reads `window` as a Prometheus duration (`5m`, `1d`, `1h30m`); Go's form is kept too. */
const windowDuration = z.string({ error: 'expected a duration such as 5m, 1h30m or 1d' }).transform((text, context) => {
  const ms = parsePrometheusDuration(text);
  if (ms === undefined || ms <= 0) {
    context.addIssue({
      code: 'custom',
      message: `expected a duration above 0 such as 5m, 1h30m or 1d (Prometheus's form: y w d h m s ms, each a whole number), got "${text}"`,
    });
    return z.NEVER;
  }
  return ms;
});

export const resourceRulesSchema = z
  .object({
    cpu: resourceRule,
    memory: resourceRule,
    /** The window the CPU rate covers, reported as each object's `window`. */
    window: windowDuration,
    /** The `prometheus.servers` entry both resources are queried on, as a rule's `server:`; default the first. */
    server: z.string().min(1).optional(),
  })
  .strict();

export type ResourceRuleConfig = z.infer<typeof resourceRule>;
export type ResourceRulesConfig = z.infer<typeof resourceRulesSchema>;
