import { GetQueueAttributesCommand, GetQueueUrlCommand, type QueueAttributeName, SQSClient } from '@aws-sdk/client-sqs';
import { ApiError } from '../../api/errors.js';
import type { CacheCaller } from '../../cache/query-cache.js';
import { checkNamespace } from '../aws/access.js';
import { type AwsBackendOptions, awsBackendBase } from '../aws/backend-base.js';
import { callAws } from '../aws/metrics.js';
import { pinnedLabels } from '../aws/selector-labels.js';
import type { BackendContext } from '../context.js';
import type { ExternalMetricsProvider, MetricsBackend } from '../provider.js';
import { ATTRIBUTE_FOR, type QueueCount, type SqsBackendConfig } from './config.js';
import { QUEUE_NAME_LABEL, QueueAllowList, queueFromSelector } from './queue-selection.js';
import { describeQueue, type QueueRef, QueueUrlResolver } from './queue-urls.js';

/** What is cached per queue and attribute set: the counts and when SQS reported them. */
interface QueueReading {
  counts: Partial<Record<QueueCount, number>>;
  observedAtMs: number;
}

/** How one served metric finds its queue and which counts it sums. */
interface MetricPlan {
  name: string;
  include: readonly QueueCount[];
  namespaces: readonly string[] | undefined;
  namespaceRule: string;
  /** Absent for the generic metric, whose queue comes from the selector. */
  queue?: QueueRef;
}

/**
 * SQS queue depth as external metrics: the generic `sqs-queue-length` (queue chosen by the
 * `queue-name` selector label, within `allowQueues`) and named metrics bound to one queue each.
 * The value is ApproximateNumberOfMessages, plus NotVisible and Delayed when configured.
 */
export function createSqsBackend(
  config: SqsBackendConfig,
  context: BackendContext,
  options: AwsBackendOptions = {},
): MetricsBackend {
  const aws = awsBackendBase('sqs', config, context, options, (clientConfig) => new SQSClient(clientConfig));
  const { metrics } = aws;
  const allowList = new QueueAllowList(config.allowQueues);
  const plans = planMetrics(config);
  const generic = config.queueLengthMetric;
  const infos = [...plans.keys()].map((metric) => ({ metric }));

  const urls = new QueueUrlResolver(async (ref) => {
    const output = await callAws(
      metrics,
      { service: 'SQS', operation: 'GetQueueUrl', target: describeQueue(ref) },
      () =>
        aws
          .clientFor(ref.region, ref.accountId)
          .send(new GetQueueUrlCommand({ QueueName: ref.name, QueueOwnerAWSAccountId: ref.accountId })),
    );
    if (!output.QueueUrl) throw ApiError.unavailable(`SQS GetQueueUrl returned no URL for ${describeQueue(ref)}`);
    return output.QueueUrl;
  });

  const readQueue = async (
    ref: QueueRef,
    include: readonly QueueCount[],
    caller: CacheCaller,
    metric: string,
  ): Promise<QueueReading> => {
    const url = await urls.resolve(ref, caller.deadline);
    const attributeNames = include.map((count) => ATTRIBUTE_FOR[count]) as QueueAttributeName[];
    const key = `${url} ${attributeNames.join(',')}`;
    return context.cache.fetch(
      key,
      async (loadSignal) => {
        context.logger.debug({ queueUrl: url, attributeNames }, 'sqs: GetQueueAttributes');
        try {
          const output = await callAws(
            metrics,
            { service: 'SQS', operation: 'GetQueueAttributes', target: describeQueue(ref), metrics: [metric] },
            () =>
              aws
                .clientFor(ref.region, ref.accountId)
                .send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: attributeNames }), {
                  abortSignal: loadSignal,
                }),
          );
          return { counts: parseCounts(output.Attributes ?? {}, include, ref), observedAtMs: context.now().getTime() };
        } catch (error) {
          // The queue was deleted since its URL was looked up: look it up afresh next time.
          if (error instanceof ApiError && error.reason === 'NotFound') urls.forget(ref);
          throw error;
        }
      },
      caller,
    );
  };

  const external: ExternalMetricsProvider = {
    async getExternalMetric(request) {
      const plan = plans.get(request.metric);
      if (!plan) throw ApiError.notFound(`the sqs backend has no external metric "${request.metric}"`);
      checkNamespace(plan.name, request.namespace, plan.namespaces, plan.namespaceRule);
      let queue = plan.queue;
      if (!queue) {
        queue = queueFromSelector(plan.name, request.metricSelector);
        allowList.check(plan.name, queue.name);
      }
      const labels = { ...pinnedLabels(request.metricSelector), [QUEUE_NAME_LABEL]: queue.name };
      // A named metric's selector can only narrow: one naming another queue selects nothing.
      if (!request.metricSelector.matches(labels)) return [];
      const reading = await readQueue(queue, plan.include, request, plan.name);
      const value = plan.include.reduce((sum, count) => sum + (reading.counts[count] ?? 0), 0);
      return [{ labels, value, timestamp: new Date(reading.observedAtMs) }];
    },
    listExternalMetrics: () => infos,
  };

  return aws.backend(external, {
    start() {
      if (generic.enabled && config.allowQueues.length === 0) {
        context.logger.warn(
          { metric: generic.name },
          'sqs: allowQueues is empty, so the generic queue-length metric answers 403 for every queue',
        );
      }
    },
  });
}

/** Every metric the section serves, by name: named metrics first, then the generic one. */
function planMetrics(config: SqsBackendConfig): Map<string, MetricPlan> {
  const plans = new Map<string, MetricPlan>();
  for (const [index, m] of config.metrics.entries()) {
    const queue: QueueRef = { name: m.queueName ?? queueNameOfUrl(m.queueUrl ?? '') };
    if (m.queueUrl !== undefined) queue.url = m.queueUrl;
    const region = m.region ?? regionOfQueueUrl(m.queueUrl);
    if (region !== undefined) queue.region = region;
    const accountId = m.accountId ?? accountOfQueueUrl(m.queueUrl);
    if (accountId !== undefined) queue.accountId = accountId;
    plans.set(m.name, {
      name: m.name,
      include: m.include,
      namespaces: m.namespaces,
      namespaceRule: `sqs.metrics[${index}].namespaces`,
      queue,
    });
  }
  const generic = config.queueLengthMetric;
  if (generic.enabled) {
    plans.set(generic.name, {
      name: generic.name,
      include: generic.include,
      namespaces: generic.namespaces,
      namespaceRule: 'sqs.queueLengthMetric.namespaces',
    });
  }
  return plans;
}

function parseCounts(
  attributes: Partial<Record<string, string>>,
  include: readonly QueueCount[],
  ref: QueueRef,
): Partial<Record<QueueCount, number>> {
  const counts: Partial<Record<QueueCount, number>> = {};
  for (const count of include) {
    const text = attributes[ATTRIBUTE_FOR[count]];
    const value = text === undefined ? Number.NaN : Number(text);
    if (!Number.isFinite(value)) {
      throw ApiError.unavailable(
        `SQS GetQueueAttributes for ${describeQueue(ref)} returned ${ATTRIBUTE_FOR[count]}=${JSON.stringify(text)}, not a number`,
      );
    }
    counts[count] = value;
  }
  return counts;
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

function queueNameOfUrl(url: string): string {
  return new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? url;
}
