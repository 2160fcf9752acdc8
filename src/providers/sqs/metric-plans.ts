import type { QueueCount, QueueSignal, SqsBackendConfig } from './config.js';
import type { QueueRef } from './queue-urls.js';

/** A queueNamePrefix metric's listing: every queue of that account and region whose name starts so. */
export interface QueuePrefix {
  prefix: string;
  region?: string;
  accountId?: string;
}

/** How one served metric finds its queues, what it reads of them, and how their values combine. */
export interface MetricPlan {
  name: string;
  signal: QueueSignal;
  include: readonly QueueCount[];
  aggregate: 'sum' | 'max';
  namespaces: readonly string[] | undefined;
  namespaceRule: string;
  /** The configured queues of a named metric; absent for a prefix or a generic metric. */
  queues?: QueueRef[];
  prefix?: QueuePrefix;
}

/** Every metric the section serves, by name: named metrics first, then the generic ones. */
export function planMetrics(config: SqsBackendConfig): Map<string, MetricPlan> {
  const plans = new Map<string, MetricPlan>();
  for (const [index, m] of config.metrics.entries()) {
    const plan: MetricPlan = {
      name: m.name,
      signal: m.signal,
      include: m.include,
      aggregate: m.aggregate,
      namespaces: m.namespaces,
      namespaceRule: `sqs.metrics[${index}].namespaces`,
    };
    const where = <R extends { region?: string; accountId?: string }>(ref: R, url?: string): R => {
      const region = m.region ?? regionOfQueueUrl(url);
      if (region !== undefined) ref.region = region;
      const accountId = m.accountId ?? accountOfQueueUrl(url);
      if (accountId !== undefined) ref.accountId = accountId;
      return ref;
    };
    if (m.queueNamePrefix !== undefined) {
      plan.prefix = where<QueuePrefix>({ prefix: m.queueNamePrefix });
    } else if (m.queueUrl !== undefined) {
      plan.queues = [where<QueueRef>({ name: queueNameOfUrl(m.queueUrl), url: m.queueUrl }, m.queueUrl)];
    } else {
      plan.queues = (m.queueNames ?? [m.queueName ?? '']).map((name) => where<QueueRef>({ name }));
    }
    plans.set(m.name, plan);
  }
  const length = config.queueLengthMetric;
  if (length.enabled) {
    plans.set(length.name, {
      name: length.name,
      signal: 'backlog',
      include: length.include,
      aggregate: 'sum',
      namespaces: length.namespaces,
      namespaceRule: 'sqs.queueLengthMetric.namespaces',
    });
  }
  const age = config.oldestMessageAgeMetric;
  if (age.enabled) {
    plans.set(age.name, {
      name: age.name,
      signal: 'oldestMessageAge',
      include: [],
      aggregate: 'max',
      namespaces: age.namespaces,
      namespaceRule: 'sqs.oldestMessageAgeMetric.namespaces',
    });
  }
  return plans;
}

/** `https://sqs.eu-west-1.amazonaws.com/123456789012/jobs` is signed for eu-west-1 whatever the default region. */
function regionOfQueueUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  return /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(url).hostname)?.[1];
}

/** `https://sqs.…/123456789012/jobs` belongs to account 123456789012, whose role (if any) signs its calls. */
function accountOfQueueUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const owner = new URL(url).pathname.split('/').filter(Boolean).at(-2);
  return owner !== undefined && /^[0-9]{12}$/.test(owner) ? owner : undefined;
}

export function queueNameOfUrl(url: string): string {
  return new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? url;
}
