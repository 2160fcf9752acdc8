import { z } from 'zod';
import { BUILTIN_RESOURCES } from '../../api/builtin-resources.js';
import { byteSize } from '../../cache/config.js';
import { parseDuration } from '../../lib/duration.js';
import { prometheusFailurePolicyFields } from '../failure-policy/config.js';
import { compileRule, RuleError } from './rules.js';

/**
 * The `prometheus:` section of the config file. Its `rules` and `externalRules` are
 * prometheus-adapter's, field for field, so an existing prometheus-adapter file works unchanged
 * (see liftPrometheusAdapterKeys for files that carry them at the top level).
 */

const RESOURCE_RULES_REFUSAL =
  'resourceRules is not supported: use metrics-server for CPU/memory resource metrics (the rules and externalRules of this file are served)';

/** Accepts only absence, so a prometheus-adapter `resourceRules` block gets a clear message, not "unrecognized key". */
export const resourceRulesRefusal = z
  .unknown()
  .refine((value) => value === undefined, { message: RESOURCE_RULES_REFUSAL })
  .optional();

const duration = z.string().transform((text, context) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    context.addIssue({ code: 'custom', message: `expected a duration such as 10s, 1m or 1h30m, got "${text}"` });
    return z.NEVER;
  }
  return ms;
});

const regexFilter = z
  .object({ is: z.string().optional(), isNot: z.string().optional() })
  .strict()
  .refine((f) => (f.is ? 1 : 0) + (f.isNot ? 1 : 0) === 1, {
    message: 'a series filter needs exactly one of `is` or `isNot`',
  });

const groupResource = z.object({ group: z.string().optional(), resource: z.string().min(1) }).strict();

const resourceMapping = z
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

export const discoveryRuleSchema = z
  .object({
    seriesQuery: z.string().min(1, 'seriesQuery must not be empty'),
    seriesFilters: z.array(regexFilter).nullish(),
    resources: resourceMapping.nullish(),
    name: nameMapping.nullish(),
    metricsQuery: z.string().min(1, 'metricsQuery must not be empty'),
    labelValueReplacements: z.array(labelValueReplacement).nullish(),
  })
  .strict();

export const prometheusSectionSchema = z
  .object({
    /** Base URL, path prefix included (`http://prometheus:9090/prom`). --prometheus-url wins. */
    url: z.url().optional(),
    /** Deadline of every call to Prometheus. */
    timeout: duration.optional(),
    /** Series age considered by discovery; defaults to the relist interval. --metrics-max-age wins. */
    maxAge: duration.optional(),
    tokenFile: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    clientCert: z.string().min(1).optional(),
    clientKey: z.string().min(1).optional(),
    /** Extra request headers; --prometheus-header entries win for the same name. */
    headers: z.record(z.string().min(1), z.string()).optional(),
    verb: z.enum(['GET', 'POST']).optional(),
    /** Answers larger than this are cut off and the call fails (503 naming the limit). Default 32Mi. */
    maxResponseBytes: byteSize.optional(),
    rules: z.array(discoveryRuleSchema).nullish(),
    externalRules: z.array(discoveryRuleSchema).nullish(),
    resourceRules: resourceRulesRefusal,
    ...prometheusFailurePolicyFields,
  })
  .strict()
  .refine((s) => !(s.clientCert === undefined) === !(s.clientKey === undefined), {
    message: 'clientCert and clientKey must be given together',
  })
  .superRefine((section, context) => {
    // Compiling here makes a bad regexp or template a config error at load and reload time.
    const check = (rules: readonly DiscoveryRuleConfig[] | null | undefined, kind: 'custom' | 'external') => {
      rules?.forEach((rule, i) => {
        try {
          compileRule(rule, kind, i, BUILTIN_RESOURCES);
        } catch (error) {
          if (!(error instanceof RuleError)) throw error;
          const key = kind === 'custom' ? 'rules' : 'externalRules';
          context.addIssue({ code: 'custom', path: [key, i, ...error.path], message: error.detail });
        }
      });
    };
    check(section.rules, 'custom');
    check(section.externalRules, 'external');
  });

export type PrometheusSection = z.infer<typeof prometheusSectionSchema>;
export type DiscoveryRuleConfig = z.infer<typeof discoveryRuleSchema>;

const LIFTED_KEYS = ['rules', 'externalRules'] as const;

const writtenTwice = (key: string) =>
  z
    .unknown()
    .refine((value) => value === undefined, {
      message: `${key} is given both at the top level and under prometheus: keep one`,
    })
    .optional();

/** Top-level keys of a prometheus-adapter file, for the adapter's top-level schema to spread in. */
export const prometheusAdapterTopLevelKeys = {
  resourceRules: resourceRulesRefusal,
  rules: writtenTwice('rules'),
  externalRules: writtenTwice('externalRules'),
};

/**
 * A prometheus-adapter file has `rules` and `externalRules` at the top level: move them under
 * `prometheus:` so one schema validates both layouts. `resourceRules` stays where it was
 * written, so the refusal names the field the user wrote.
 */
export function liftPrometheusAdapterKeys(raw: unknown): unknown {
  if (!isRecord(raw) || !LIFTED_KEYS.some((key) => key in raw)) return raw;
  const section = raw.prometheus ?? {};
  if (!isRecord(section)) return raw;
  const lifted: Record<string, unknown> = { ...raw };
  const merged: Record<string, unknown> = { ...section };
  for (const key of LIFTED_KEYS) {
    if (!(key in raw)) continue;
    // Both places at once is ambiguous; leaving the top-level key makes the schema name it.
    if (key in section) continue;
    merged[key] = raw[key];
    delete lifted[key];
  }
  lifted.prometheus = merged;
  return lifted;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
