// An autoscaling/v2 HorizontalPodAutoscaler, the parts the controller reads, validated once from
// the API server's JSON or a manifest file.

import { z } from 'zod';
import { parseQuantity } from '../api/quantity.js';
import { referenceSchema, selectorSchema } from '../kube/hpa-informer.js';
import type { Behavior } from './replica-decision.js';

/** Quantities arrive as strings from the API server and often as numbers from hand-written YAML. */
const quantity = z.union([z.string(), z.number()]).transform((q, context) => {
  try {
    return milliOf(typeof q === 'number' ? String(q) : q);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const labelSelector = selectorSchema.nullish();

const metricIdentifier = z.object({ name: z.string().min(1), selector: labelSelector });

const metricTarget = z.object({
  type: z.enum(['Value', 'AverageValue', 'Utilization']),
  value: quantity.nullish(),
  averageValue: quantity.nullish(),
  averageUtilization: z.number().nullish(),
});

const crossVersionObjectReference = referenceSchema;

const metricSpec = z.object({
  type: z.enum(['Object', 'Pods', 'Resource', 'ContainerResource', 'External']),
  object: z
    .object({ describedObject: crossVersionObjectReference, metric: metricIdentifier, target: metricTarget })
    .nullish(),
  pods: z.object({ metric: metricIdentifier, target: metricTarget }).nullish(),
  external: z.object({ metric: metricIdentifier, target: metricTarget }).nullish(),
  resource: z.object({ name: z.string(), target: metricTarget }).nullish(),
  containerResource: z.object({ name: z.string(), container: z.string(), target: metricTarget }).nullish(),
});

const scalingRules = z.object({
  selectPolicy: z.enum(['Max', 'Min', 'Disabled']).nullish(),
  policies: z
    .array(z.object({ type: z.enum(['Pods', 'Percent']), value: z.number(), periodSeconds: z.number() }))
    .nullish(),
  stabilizationWindowSeconds: z.number().nullish(),
  // KEP-4951: a quantity such as "0.05".
  tolerance: z
    .union([z.string(), z.number()])
    .transform((t) => (typeof t === 'number' ? t : parseQuantity(t)))
    .nullish(),
});

export const hpaSchema = z.object({
  apiVersion: z.literal('autoscaling/v2', { message: 'explain hpa reads autoscaling/v2 HorizontalPodAutoscalers' }),
  metadata: z.object({ name: z.string().min(1), namespace: z.string().nullish() }),
  spec: z.object({
    scaleTargetRef: crossVersionObjectReference,
    minReplicas: z.number().int().min(0).nullish(),
    maxReplicas: z.number().int().min(1),
    metrics: z.array(metricSpec).nullish(),
    behavior: z.object({ scaleUp: scalingRules.nullish(), scaleDown: scalingRules.nullish() }).nullish(),
  }),
});

export type Hpa = z.infer<typeof hpaSchema>;
export type HpaMetricSpec = z.infer<typeof metricSpec>;
export type HpaMetricTarget = z.infer<typeof metricTarget>;
export type HpaObjectReference = z.infer<typeof crossVersionObjectReference>;

/** Throws an Error naming the first field that is wrong. */
export function parseHpa(document: unknown, where: string): Hpa {
  const parsed = hpaSchema.safeParse(document);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(`${where}: not a valid HPA: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
}

/**
 * Quantity.MilliValue() as the controller reads targets and answers: the value in milli-units,
 * rounded up. A double's decimal noise (0.1 × 1000) is not a fraction to round up.
 */
export function milliOf(quantityText: string): number {
  const milli = parseQuantity(quantityText) * 1000;
  const nearest = Math.round(milli);
  return Math.abs(milli - nearest) <= 1e-9 * Math.max(1, Math.abs(milli)) ? nearest : Math.ceil(milli);
}

/** The HPA's behavior as the replica arithmetic takes it (nulls from the API dropped). */
export function behaviorOf(hpa: Hpa): Behavior | undefined {
  const behavior = hpa.spec.behavior;
  if (!behavior) return undefined;
  const rules = (r: z.infer<typeof scalingRules> | null | undefined) =>
    r
      ? {
          ...(r.selectPolicy ? { selectPolicy: r.selectPolicy } : {}),
          ...(r.policies ? { policies: r.policies } : {}),
          ...(r.stabilizationWindowSeconds != null ? { stabilizationWindowSeconds: r.stabilizationWindowSeconds } : {}),
          ...(r.tolerance != null ? { tolerance: r.tolerance } : {}),
        }
      : undefined;
  const scaleUp = rules(behavior.scaleUp);
  const scaleDown = rules(behavior.scaleDown);
  return { ...(scaleUp ? { scaleUp } : {}), ...(scaleDown ? { scaleDown } : {}) };
}
