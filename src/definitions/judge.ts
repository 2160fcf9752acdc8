import type { z } from 'zod';
import { parseQuantity } from '../api/quantity.js';
import { clip } from '../lib/text.js';
import { type CloudWatchMetricConfig, cloudWatchBackendSchema } from '../providers/cloudwatch/config.js';
import { type FailurePolicyConfig, failurePolicySchema } from '../providers/failure-policy/config.js';
import { type CompiledRule, RuleError } from '../providers/prometheus/rules.js';
import { type SqsBackendConfig, sqsBackendSchema } from '../providers/sqs/config.js';
import { DEFINITION_MATH_FUNCTIONS, unlistedMathFunction } from './metric-math.js';
import type { DefinitionsPolicyRules } from './policy.js';
import type { DefinitionBackend } from './policy-config.js';
import { definitionRule } from './prometheus-queries.js';
import { type EnforcedQuery, enforceNamespace, QueryInvalidError } from './promql-namespace.js';
import type { DefinitionSpec, MetricDefinition } from './resource.js';
import type { DefinitionReason } from './state.js';

export type SqsMetricConfig = SqsBackendConfig['metrics'][number];

/** What a valid definition asks of its backend, already checked against the policy. */
export type DefinitionPlan =
  | {
      kind: 'prometheus';
      server: string;
      query: EnforcedQuery;
      rule: CompiledRule;
      failurePolicy: FailurePolicyConfig | undefined;
    }
  | { kind: 'sqs'; metric: SqsMetricConfig }
  | { kind: 'cloudwatch'; metric: CloudWatchMetricConfig };

export type Judgement =
  | { ok: true; metric: string; key: string; plan: DefinitionPlan; ttlMs: number | undefined; spec: DefinitionSpec }
  | {
      ok: false;
      metric: string;
      reason: Exclude<DefinitionReason, 'Valid' | 'NoData' | 'BackendError'>;
      message: string;
    };

/** What the running config offers definitions besides the policy. */
export interface JudgeContext {
  policy: DefinitionsPolicyRules;
  /** `prometheus.servers` names (`default` for the single-server form); empty without Prometheus. */
  prometheusServers: readonly string[];
}

/**
 * The name a definition's metric has inside the backends built for definitions: its namespace
 * first, so two namespaces may define the same metric name, each served only in its own.
 */
export function definitionKey(namespace: string, metric: string): string {
  return `${namespace}:${metric}`;
}

/**
 * Decides whether a definition may be served, before anything is sent to a backend: its spec
 * must name exactly one backend the policy opens to its namespace, read only what the
 * namespace's rule allows, and (PromQL) parse, with the namespace then enforced in it.
 */
export function judgeDefinition(definition: MetricDefinition, context: JudgeContext): Judgement {
  const { spec, namespace } = definition;
  const fallbackMetric = definition.name;
  if ('invalid' in spec) return invalid(fallbackMetric, spec.invalid);
  const metric = spec.metric ?? definition.name;
  const kinds = (['prometheus', 'sqs', 'cloudwatch'] as const).filter((kind) => spec[kind] !== undefined);
  const [kind] = kinds;
  if (kind === undefined || kinds.length !== 1) {
    return invalid(metric, `set exactly one of spec.prometheus, spec.sqs and spec.cloudwatch (found ${kinds.length})`);
  }
  const closed = context.policy.closedBecause(kind, namespace);
  if (closed) return forbidden(metric, closed);
  const key = definitionKey(namespace, metric);
  const planned = planFor(kind, spec, key, namespace, context);
  if ('reason' in planned) return { ok: false, metric, ...planned };
  const minTtl = context.policy.settings.minTtl;
  const ttlMs = spec.cache?.ttl === undefined ? undefined : Math.max(spec.cache.ttl, minTtl);
  return { ok: true, metric, key, plan: planned, ttlMs, spec };
}

type Refusal = { reason: 'QueryInvalid' | 'Forbidden'; message: string };

function planFor(
  kind: DefinitionBackend,
  spec: DefinitionSpec,
  key: string,
  namespace: string,
  context: JudgeContext,
): DefinitionPlan | Refusal {
  switch (kind) {
    case 'prometheus':
      return prometheusPlan(spec, namespace, context);
    case 'sqs':
      return sqsPlan(spec, key, namespace, context.policy);
    case 'cloudwatch':
      return cloudWatchPlan(spec, key, namespace, context.policy);
  }
}

function prometheusPlan(spec: DefinitionSpec, namespace: string, context: JudgeContext): DefinitionPlan | Refusal {
  const source = spec.prometheus;
  if (!source) return { reason: 'QueryInvalid', message: 'spec.prometheus is missing' };
  const server = source.server ?? context.prometheusServers[0];
  if (server === undefined || !context.prometheusServers.includes(server)) {
    const known = context.prometheusServers.join(', ') || 'none: the adapter config has no prometheus section';
    return { reason: 'Forbidden', message: `no Prometheus server is named "${server ?? ''}" (servers: ${known})` };
  }
  const allowed = context.policy.ruleFor(namespace)?.prometheus?.servers ?? [];
  if (!context.policy.anyMatches(allowed, server, namespace)) {
    return { reason: 'Forbidden', message: `namespace "${namespace}" may not query Prometheus server "${server}"` };
  }
  const failurePolicy = failurePolicySchema.optional().safeParse(failurePolicyOf(spec));
  if (!failurePolicy.success) {
    const issue = failurePolicy.error.issues[0];
    return { reason: 'QueryInvalid', message: `spec.failurePolicy.${issue?.path.join('.')}: ${issue?.message}` };
  }
  try {
    const label = context.policy.settings.namespaceLabel;
    const query = enforceNamespace(source.query, label, namespace);
    return { kind: 'prometheus', server, query, rule: definitionRule(query, label), failurePolicy: failurePolicy.data };
  } catch (error) {
    if (!(error instanceof QueryInvalidError) && !(error instanceof RuleError)) throw error;
    return { reason: 'QueryInvalid', message: error.message };
  }
}

function sqsPlan(
  spec: DefinitionSpec,
  key: string,
  namespace: string,
  policy: DefinitionsPolicyRules,
): DefinitionPlan | Refusal {
  const parsed = sqsBackendSchema.safeParse({
    metrics: [{ ...spec.sqs, name: key, namespaces: [namespace], failurePolicy: failurePolicyOf(spec) }],
    queueLengthMetric: { enabled: false },
    oldestMessageAgeMetric: { enabled: false },
  });
  if (!parsed.success) return { reason: 'QueryInvalid', message: firstIssue('spec.sqs', parsed.error) };
  const [metric] = parsed.data.metrics;
  if (!metric) return { reason: 'QueryInvalid', message: 'spec.sqs names no queue' };
  const rule = policy.ruleFor(namespace)?.sqs;
  const queues = rule?.queues ?? [];
  const accounts = rule?.accounts ?? [];
  const deny = (what: string): Refusal => ({
    reason: 'Forbidden',
    message: `namespace "${namespace}" may not read ${what} (definitions.rules allow queues ${queues.map((q) => `"${q}"`).join(', ')}${accounts.length > 0 ? ` in accounts ${accounts.join(', ')}` : ''})`,
  });
  const names = [...(metric.queueName ? [metric.queueName] : []), ...(metric.queueNames ?? [])];
  let account = metric.accountId;
  if (metric.queueUrl) {
    const [, owner, name] = new URL(metric.queueUrl).pathname.split('/');
    if (!owner || !name)
      return { reason: 'QueryInvalid', message: 'spec.sqs.queueUrl must end in /<account>/<queue name>' };
    names.push(name);
    account = owner;
  }
  for (const name of names) if (!policy.anyMatches(queues, name, namespace)) return deny(`SQS queue "${name}"`);
  if (metric.queueNamePrefix !== undefined && !policy.coversPrefix(queues, metric.queueNamePrefix, namespace)) {
    return deny(`every SQS queue named "${metric.queueNamePrefix}*"`);
  }
  if (account !== undefined && !policy.anyMatches(accounts, account, namespace)) {
    return deny(`SQS queues of account ${account}`);
  }
  return { kind: 'sqs', metric };
}

function cloudWatchPlan(
  spec: DefinitionSpec,
  key: string,
  namespace: string,
  policy: DefinitionsPolicyRules,
): DefinitionPlan | Refusal {
  const parsed = cloudWatchBackendSchema.safeParse({
    metrics: [{ ...spec.cloudwatch, name: key, namespaces: [namespace], failurePolicy: failurePolicyOf(spec) }],
  });
  if (!parsed.success) return { reason: 'QueryInvalid', message: firstIssue('spec.cloudwatch', parsed.error) };
  const [metric] = parsed.data.metrics;
  if (!metric) return { reason: 'QueryInvalid', message: 'spec.cloudwatch has no queries' };
  const rule = policy.ruleFor(namespace)?.cloudwatch;
  const allowed = rule?.metricNamespaces ?? [];
  for (const query of metric.queries) {
    const metricNamespace = query.metricStat?.namespace;
    if (metricNamespace !== undefined && !policy.anyMatches(allowed, metricNamespace, namespace)) {
      return {
        reason: 'Forbidden',
        message: `namespace "${namespace}" may not read CloudWatch namespace "${metricNamespace}" (definitions.rules allow ${allowed.map((a) => `"${a}"`).join(', ')})`,
      };
    }
    const unlisted = query.expression === undefined ? undefined : unlistedMathFunction(query.expression);
    if (unlisted !== undefined) {
      return {
        reason: 'Forbidden',
        message: `query "${query.id}" calls ${unlisted}, which is not among the metric-math functions a definition may use (${[...DEFINITION_MATH_FUNCTIONS].join(', ')}): a definition's expressions may only compute over its own queries`,
      };
    }
  }
  if (metric.accountId !== undefined && !policy.anyMatches(rule?.accounts ?? [], metric.accountId, namespace)) {
    return {
      reason: 'Forbidden',
      message: `namespace "${namespace}" may not read CloudWatch account ${metric.accountId}`,
    };
  }
  return { kind: 'cloudwatch', metric };
}

const POLICY_WORDS: ReadonlySet<unknown> = new Set(['lastGood', 'fail', 'error', 'zero']);

/**
 * The spec's failurePolicy as the config schema reads it: the CRD takes a value to serve as a
 * whole number or, for anything else the config takes, a quantity string ("0.5", "1500m"), since a
 * CRD field cannot be an integer, a decimal and a string at once.
 */
function failurePolicyOf(spec: DefinitionSpec): Record<string, unknown> | undefined {
  const policy = spec.failurePolicy;
  if (!policy) return undefined;
  const numeric = (value: unknown) => {
    if (typeof value !== 'string' || POLICY_WORDS.has(value)) return value;
    try {
      return parseQuantity(value);
    } catch {
      return value;
    }
  };
  return { ...policy, onError: numeric(policy.onError), noData: numeric(policy.noData) };
}

function firstIssue(prefix: string, error: z.ZodError): string {
  const issue = error.issues[0];
  // The issue path starts at the section built around the spec: metrics.0.<field>.
  const path = (issue?.path ?? []).slice(2).join('.');
  return clip(`${prefix}${path ? `.${path}` : ''}: ${issue?.message ?? 'invalid'}`, 300);
}

function invalid(metric: string, message: string): Judgement {
  return { ok: false, metric, reason: 'QueryInvalid', message };
}

function forbidden(metric: string, message: string): Judgement {
  return { ok: false, metric, reason: 'Forbidden', message };
}
