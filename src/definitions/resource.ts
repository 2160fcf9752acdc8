import { z } from 'zod';
import type { ResourceRef } from '../kube/types.js';
import { duration, metricName } from '../schema/fields.js';

/** The MetricDefinition CRD (deploy/base/crd-metricdefinitions.yaml). */
export const DEFINITION_GROUP = 'hpa-metrics-adapter.io';
export const METRIC_DEFINITIONS: ResourceRef = {
  group: DEFINITION_GROUP,
  version: 'v1alpha1',
  resource: 'metricdefinitions',
};

/** The largest PromQL a definition may hold; the CRD's schema says the same. */
export const MAX_QUERY_LENGTH = 8192;
/** The largest spec read, as JSON: larger is refused as a whole (QueryInvalid), never parsed further. */
export const MAX_SPEC_BYTES = 64 * 1024;

/**
 * The spec as the adapter reads it. The SQS and CloudWatch parts are read by their own backend's
 * config schema (the same fields as a metric in the config file), so they are only objects here.
 */
const specSchema = z
  .object({
    metric: metricName.optional(),
    prometheus: z
      .object({
        query: z.string().min(1).max(MAX_QUERY_LENGTH),
        server: z.string().min(1).max(63).optional(),
      })
      .strict()
      .optional(),
    sqs: z.record(z.string(), z.unknown()).optional(),
    cloudwatch: z.record(z.string(), z.unknown()).optional(),
    /** Read by the backend's own schema, as a metric's failurePolicy in the config file is. */
    failurePolicy: z.record(z.string(), z.unknown()).optional(),
    cache: z.object({ ttl: duration.optional() }).strict().optional(),
  })
  .strict();

export type DefinitionSpec = z.infer<typeof specSchema>;

const objectSchema = z.object({
  metadata: z.object({
    name: z.string().min(1).max(253),
    namespace: z.string().min(1).max(63),
    resourceVersion: z.string().max(64).default(''),
    generation: z.number().int().nonnegative().default(0),
    creationTimestamp: z.string().max(64).optional(),
  }),
  spec: z.unknown(),
});

/** One MetricDefinition as watched: its identity, and its spec or why the spec cannot be read. */
export interface MetricDefinition {
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string;
  readonly generation: number;
  /** ms since the epoch; orders definitions for the per-namespace count limit (oldest first). */
  readonly createdAt: number;
  readonly spec: DefinitionSpec | { readonly invalid: string };
}

/** Reads one object of the watch or LIST; throws only when it has no readable metadata. */
export function decodeDefinition(raw: unknown): MetricDefinition {
  const { metadata, spec } = objectSchema.parse(raw);
  const identity = {
    namespace: metadata.namespace,
    name: metadata.name,
    resourceVersion: metadata.resourceVersion,
    generation: metadata.generation,
    createdAt: Date.parse(metadata.creationTimestamp ?? '') || 0,
  };
  return { ...identity, spec: readSpec(spec) };
}

function readSpec(spec: unknown): DefinitionSpec | { invalid: string } {
  const size = JSON.stringify(spec ?? null).length;
  if (size > MAX_SPEC_BYTES) return { invalid: `the spec is ${size} bytes of JSON, more than ${MAX_SPEC_BYTES}` };
  const parsed = specSchema.safeParse(spec);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return { invalid: `spec.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
}
