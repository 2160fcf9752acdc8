import { z } from 'zod';
import { positiveDuration } from '../../schema/fields.js';
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

export const resourceRulesSchema = z
  .object({
    cpu: resourceRule,
    memory: resourceRule,
    /** The window the CPU rate covers, reported as each object's `window`. */
    window: positiveDuration,
  })
  .strict();

export type ResourceRuleConfig = z.infer<typeof resourceRule>;
export type ResourceRulesConfig = z.infer<typeof resourceRulesSchema>;
