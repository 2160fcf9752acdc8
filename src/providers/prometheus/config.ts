import { z } from 'zod';
import { cacheLevelSchema } from '../../cache/config.js';
import { byteSize, metricName, positiveDuration } from '../../schema/fields.js';
import { failurePolicySchema } from '../failure-policy/config.js';
import { headers, headerValue } from './header-fields.js';
import { type ResourceRulesConfig, resourceRulesSchema } from './resource-rule-schema.js';
import { type DiscoveryRuleConfig, discoveryRuleSchema } from './rule-schema.js';
import { prometheusAuthSchema } from './sigv4.js';

/**
 * The `prometheus:` section of the config file. Its `rules` and `externalRules` are
 * prometheus-adapter's, field for field, so an existing prometheus-adapter file works unchanged
 * (see liftPrometheusAdapterKeys for files that carry them at the top level).
 */

/**
 * prometheus-adapter's `resourceRules` (metrics.k8s.io: CPU and memory of pods and nodes), at the
 * top level as prometheus-adapter reads them, or under `prometheus:`; src/resource-metrics/ serves
 * them. An empty key (`resourceRules:`) counts as absent.
 */
const acceptedResourceRules = resourceRulesSchema.nullish();

/** The config's resourceRules and the field they were written at, or undefined when it has none. */
export function resourceRulesOf(config: {
  resourceRules?: ResourceRulesConfig | null | undefined;
  prometheus?: { resourceRules?: ResourceRulesConfig | null | undefined } | undefined;
}): { field: string; rules: ResourceRulesConfig } | undefined {
  if (config.resourceRules) return { field: 'resourceRules', rules: config.resourceRules };
  if (config.prometheus?.resourceRules)
    return { field: 'prometheus.resourceRules', rules: config.prometheus.resourceRules };
  return undefined;
}

/** A default, and policies by served metric name (its names come from rule templates). */
const failurePolicyFields = {
  failurePolicy: failurePolicySchema.optional(),
  failurePolicies: z.record(metricName, failurePolicySchema).optional(),
};

/** How the adapter reaches one Prometheus (or Thanos, Mimir, Cortex): the single-server section's fields and each server's. */
const connectionFields = {
  /** Deadline of every call to Prometheus. */
  timeout: positiveDuration.optional(),
  tokenFile: z.string().min(1).optional(),
  caFile: z.string().min(1).optional(),
  clientCert: z.string().min(1).optional(),
  clientKey: z.string().min(1).optional(),
  /** Extra request headers; --prometheus-header entries win for the same name (single-server form). */
  headers: headers.optional(),
  verb: z.enum(['GET', 'POST']).optional(),
  /** Answers larger than this are cut off and the call fails (503 naming the limit). Default 32Mi. */
  maxResponseBytes: byteSize.optional(),
  /** Sent as X-Scope-OrgID on every call: the tenant of a Thanos, Mimir or Cortex that serves several. */
  tenant: headerValue.min(1).optional(),
  /** Request signing: `{ sigv4: { region, service } }` for Amazon Managed Service for Prometheus. */
  auth: prometheusAuthSchema.optional(),
};

const CONNECTION_KEYS = Object.keys(connectionFields) as (keyof typeof connectionFields)[];

const TENANT_HEADER = 'x-scope-orgid';

const halfClientCert = (s: { clientCert?: string | undefined; clientKey?: string | undefined }) =>
  !(s.clientCert === undefined) === !(s.clientKey === undefined);

const tenantTwice = (s: { tenant?: string | undefined; headers?: Record<string, string> | undefined }) =>
  s.tenant === undefined || !Object.keys(s.headers ?? {}).some((name) => name.toLowerCase() === TENANT_HEADER);

/** One of `prometheus.servers`: named, so rules, logs, metrics and explain can say which. */
export const prometheusServerSchema = z
  .object({
    name: z
      .string()
      .regex(
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
        'expected a lowercase name of letters, digits and "-", such as thanos-eu',
      ),
    url: z.url(),
    ...connectionFields,
    /** This server's cache settings, over `cache.prometheus` over `cache.default`. */
    cache: cacheLevelSchema.optional(),
    /** The default policy of the metrics this server's rules serve, over the section's `failurePolicy`. */
    failurePolicy: failurePolicySchema.optional(),
  })
  .strict()
  .refine(halfClientCert, { message: 'clientCert and clientKey must be given together' })
  .refine(tenantTwice, { message: 'give the tenant as `tenant` or as an X-Scope-OrgID header, not both' });

export type PrometheusServerConfig = z.infer<typeof prometheusServerSchema>;

/** The name of the one server of the single-server form (`prometheus.url`), for `server:` and labels. */
export const SINGLE_SERVER_NAME = 'default';

export const prometheusSectionSchema = z
  .object({
    /** Base URL, path prefix included (`http://prometheus:9090/prom`). --prometheus-url wins. */
    url: z.url().optional(),
    ...connectionFields,
    /** Several servers instead of `url` and its settings; rules name theirs with `server:`. */
    servers: z.array(prometheusServerSchema).min(1).optional(),
    /** Series age considered by discovery; defaults to the relist interval. --metrics-max-age wins. */
    maxAge: positiveDuration.optional(),
    /**
     * Checked here for their shape only: their patterns and templates are compiled once, when the
     * backend is built (compileRulesInTurns), where a rule that does not compile is a ConfigError
     * naming its field, at start and on a reload (which then keeps the running config).
     */
    rules: z.array(discoveryRuleSchema).nullish(),
    externalRules: z.array(discoveryRuleSchema).nullish(),
    resourceRules: acceptedResourceRules,
    ...failurePolicyFields,
  })
  .strict()
  .refine(halfClientCert, { message: 'clientCert and clientKey must be given together' })
  .refine(tenantTwice, { message: 'give the tenant as `tenant` or as an X-Scope-OrgID header, not both' })
  .superRefine((section, context) => {
    const servers = section.servers;
    if (servers === undefined) return;
    const single = ['url' as const, ...CONNECTION_KEYS].filter((key) => section[key] !== undefined);
    if (single.length > 0) {
      context.addIssue({
        code: 'custom',
        path: ['servers'],
        message: `give either servers or the single-server ${single.join(', ')}, not both: move ${single.length === 1 ? 'it' : 'them'} into a server`,
      });
    }
    const seen = new Set<string>();
    servers.forEach((server, i) => {
      if (seen.has(server.name))
        context.addIssue({
          code: 'custom',
          path: ['servers', i, 'name'],
          message: `"${server.name}" names two servers`,
        });
      seen.add(server.name);
    });
  })
  .superRefine((section, context) => {
    for (const issue of unknownRuleServers(section)) context.addIssue({ code: 'custom', ...issue });
  });

export type PrometheusSection = z.infer<typeof prometheusSectionSchema>;

const RULE_KEYS = ['rules', 'externalRules'] as const;

/** Rules naming a server the section does not have. */
function unknownRuleServers(section: {
  servers?: readonly { name: string }[] | undefined;
  rules?: readonly DiscoveryRuleConfig[] | null | undefined;
  externalRules?: readonly DiscoveryRuleConfig[] | null | undefined;
}): { path: (string | number)[]; message: string }[] {
  const names = section.servers?.map((s) => s.name) ?? [SINGLE_SERVER_NAME];
  const issues: { path: (string | number)[]; message: string }[] = [];
  for (const key of RULE_KEYS) {
    section[key]?.forEach((rule, i) => {
      if (rule.server === undefined || names.includes(rule.server)) return;
      issues.push({
        path: [key, i, 'server'],
        message: `no server is named "${rule.server}" (${section.servers ? 'prometheus.servers names' : 'the single server is'} ${names.join(', ')})`,
      });
    });
  }
  return issues;
}

/** A config's Prometheus rules checked apart from the rest of it (see checkRulesInTurns). */
export interface RulesCheckedApart {
  /** The config with its rule lists emptied, for the whole schema to check. */
  rest: Record<string, unknown>;
  /** Puts the checked rules into the section the schema made of `rest`; false when a rule names an unknown server. */
  restore(section: PrometheusSection | undefined): boolean;
}

/**
 * The rules of a config file (rules lifted under `prometheus:`) checked one at a time between
 * event-loop turns: a file of thousands held the loop for its whole schema check (issue 20 item
 * 12). Undefined when there are no rule lists to take apart or a rule fails its check: the whole
 * schema then checks the file, so a refused file's message is the schema's.
 */
export async function checkRulesInTurns(
  config: unknown,
  slice: () => Promise<void> | undefined,
): Promise<RulesCheckedApart | undefined> {
  if (!isRecord(config) || !isRecord(config.prometheus)) return undefined;
  const section: Record<string, unknown> = { ...config.prometheus };
  const checked = new Map<(typeof RULE_KEYS)[number], DiscoveryRuleConfig[]>();
  for (const key of RULE_KEYS) {
    const rules = section[key];
    if (!Array.isArray(rules)) continue;
    const parsed: DiscoveryRuleConfig[] = [];
    for (const rule of rules) {
      const result = discoveryRuleSchema.safeParse(rule);
      if (!result.success) return undefined;
      parsed.push(result.data);
      await slice();
    }
    checked.set(key, parsed);
    section[key] = [];
  }
  if (checked.size === 0) return undefined;
  return {
    rest: { ...config, prometheus: section },
    restore(parsed) {
      if (!parsed) return false;
      for (const [key, rules] of checked) parsed[key] = rules;
      return unknownRuleServers(parsed).length === 0;
    },
  };
}

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
  resourceRules: acceptedResourceRules,
  rules: writtenTwice('rules'),
  externalRules: writtenTwice('externalRules'),
};

/**
 * A prometheus-adapter file has `rules` and `externalRules` at the top level: move them under
 * `prometheus:` so one schema validates both layouts. `resourceRules` stays where it was
 * written, so the warning names the field the user wrote.
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
