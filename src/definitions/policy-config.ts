import { z } from 'zod';
import { positiveDuration } from '../schema/fields.js';

/**
 * The `definitions:` section of the config file: whether teams may define their own metrics
 * (MetricDefinition objects in their namespaces), with which backends, and what each namespace
 * may read. The cluster admin owns it; a definition outside it is never sent to a backend.
 *
 * Patterns are globs (`*`, `?`); `${namespace}` in a pattern is the definition's namespace, so one
 * rule can say "team-a may read queues team-a-*" for every team at once.
 */
export const DEFINITION_BACKENDS = ['prometheus', 'sqs', 'cloudwatch'] as const;
export type DefinitionBackend = (typeof DEFINITION_BACKENDS)[number];

const pattern = z.string().min(1).max(253);
const patterns = z.array(pattern).max(100);

/** What the namespaces a rule matches may read. A backend a rule leaves out is closed to them. */
const namespaceRule = z
  .object({
    /** Namespace globs this rule is for; the first rule that matches a namespace is its rule. */
    namespaces: z.array(pattern).min(1).max(100),
    prometheus: z
      .object({
        /** `prometheus.servers` names (`default` for the single-server form) the queries may run on. */
        servers: patterns.default(['*']),
      })
      .strict()
      .optional(),
    sqs: z
      .object({
        /** Queue-name globs, e.g. `${namespace}-*`. */
        queues: patterns.min(1),
        /** 12-digit account ids (or globs) besides the adapter's own whose queues may be read. */
        accounts: patterns.default([]),
      })
      .strict()
      .optional(),
    cloudwatch: z
      .object({
        /** CloudWatch metric namespaces (globs), e.g. `AWS/SQS`, `Team/${namespace}`. */
        metricNamespaces: patterns.min(1),
        accounts: patterns.default([]),
      })
      .strict()
      .optional(),
  })
  .strict();

export const definitionsPolicySchema = z
  .object({
    /** Off by default: definitions are read (and their status says why not served) only when on. */
    enabled: z.boolean().default(false),
    /** Backends definitions may use; each also needs its section (connection) in this file. */
    backends: z.array(z.enum(DEFINITION_BACKENDS)).default([...DEFINITION_BACKENDS]),
    /** Definitions served per namespace; the oldest are served, the rest say Forbidden. */
    maxPerNamespace: z.number().int().min(1).max(10_000).default(50),
    /** Definitions held in all (the watch keeps no more). */
    maxTotal: z.number().int().min(1).max(100_000).default(10_000),
    /** A definition's cache.ttl below this is raised to it (backends are not polled faster). */
    minTtl: positiveDuration.default(10_000),
    /** The label every PromQL selector gets the definition's namespace in. */
    namespaceLabel: z
      .string()
      .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name')
      .default('namespace'),
    rules: z.array(namespaceRule).max(1000).default([]),
  })
  .strict();

export type DefinitionsPolicy = z.infer<typeof definitionsPolicySchema>;
export type NamespaceRule = z.infer<typeof namespaceRule>;
