import { ApiError } from '../../api/errors.js';
import type { LabelSelector } from '../../api/selector.js';
import { globToRegExp } from '../../lib/glob.js';
import { ACCOUNT_ID_PATTERN } from '../aws/config.js';
import { pinnedLabels } from '../aws/selector-labels.js';
import { QUEUE_NAME_PATTERN } from './config.js';
import type { QueueRef } from './queue-urls.js';

export const QUEUE_NAME_LABEL = 'queue-name';
const SELECTOR_LABELS = [QUEUE_NAME_LABEL, 'region', 'account-id'];

/** Queues one request of a generic metric may name with `queue-name in (…)`. */
const MAX_SELECTED_QUEUES = 20;

/**
 * The queues a request for a generic metric names: `queue-name=<name>` or `queue-name in (a,b)`
 * (required), optionally `region=<region>` and `account-id=<12 digits>`. Anything else in the
 * selector is refused, so a typo is an error rather than a different queue.
 */
export function queuesFromSelector(metric: string, selector: LabelSelector): QueueRef[] {
  const several = selector.requirements.find(
    (r) => r.key === QUEUE_NAME_LABEL && r.operator === 'In' && r.values.length > 1,
  );
  if (!several) return [queueFromSelector(metric, selector)];
  if (several.values.length > MAX_SELECTED_QUEUES) {
    throw ApiError.badRequest(`external metric "${metric}" reads at most ${MAX_SELECTED_QUEUES} queues per request`);
  }
  return several.values.map((name) => queueFromSelector(metric, selector, name));
}

/** `name`, when given, is the queue a `queue-name in (…)` requirement names, which pins no single value. */
function queueFromSelector(metric: string, selector: LabelSelector, name?: string): QueueRef {
  const labels = pinnedLabels(selector);
  if (name !== undefined) labels[QUEUE_NAME_LABEL] = name;
  for (const requirement of selector.requirements) {
    if (!SELECTOR_LABELS.includes(requirement.key)) {
      throw ApiError.badRequest(
        `external metric "${metric}" is selected by the labels ${SELECTOR_LABELS.join(', ')}; "${requirement.key}" is not one of them`,
      );
    }
    if (!Object.hasOwn(labels, requirement.key)) {
      throw ApiError.badRequest(
        `external metric "${metric}" needs label "${requirement.key}" as ${requirement.key}=<value>, got "${selector.toString()}"`,
      );
    }
  }
  const queueName = labels[QUEUE_NAME_LABEL];
  if (queueName === undefined) {
    throw ApiError.badRequest(
      `external metric "${metric}" needs the label selector ${QUEUE_NAME_LABEL}=<queue name> (e.g. labelSelector=${QUEUE_NAME_LABEL}%3Djobs)`,
    );
  }
  if (!QUEUE_NAME_PATTERN.test(queueName)) {
    throw ApiError.badRequest(`"${queueName}" is not an SQS queue name (up to 80 of A-Z a-z 0-9 _ -, optional .fifo)`);
  }
  const ref: QueueRef = { name: queueName };
  const region = labels.region;
  if (region !== undefined) ref.region = region;
  const accountId = labels['account-id'];
  if (accountId !== undefined) {
    if (!ACCOUNT_ID_PATTERN.test(accountId)) {
      throw ApiError.badRequest(`account-id "${accountId}" is not a 12-digit AWS account id`);
    }
    ref.accountId = accountId;
  }
  return ref;
}

/** The queue-name patterns of `sqs.allowQueues`, compiled once. */
export class QueueAllowList {
  private readonly compiled: RegExp[];

  constructor(private readonly patterns: readonly string[]) {
    this.compiled = patterns.map(globToRegExp);
  }

  allows(queueName: string): boolean {
    return this.compiled.some((pattern) => pattern.test(queueName));
  }

  /** Throws Forbidden naming the rule when the queue is not allowed. */
  check(metric: string, queueName: string): void {
    if (this.compiled.some((pattern) => pattern.test(queueName))) return;
    const rule =
      this.patterns.length === 0
        ? 'sqs.allowQueues is empty, so the metric serves no queue'
        : `sqs.allowQueues allows only ${this.patterns.map((p) => `"${p}"`).join(', ')}`;
    throw ApiError.forbidden(`external metric "${metric}" may not read SQS queue "${queueName}": ${rule}`);
  }
}
