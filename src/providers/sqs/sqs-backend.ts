import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  type QueueAttributeName,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ApiError } from '../../api/errors.js';
import type { CacheCaller } from '../../cache/query-cache.js';
import { type AwsBackendOptions, awsBackendBase } from '../aws/backend-base.js';
import type { AwsConnectionSettings } from '../aws/config.js';
import { AWS_REQUEST_LOG, callAws } from '../aws/metrics.js';
import { pinnedLabels } from '../aws/selector-labels.js';
import type { BackendContext } from '../context.js';
import { checkNamespace } from '../namespace-access.js';
import type { ExternalMetricRequest, ExternalMetricsProvider, MetricsBackend } from '../provider.js';
import { ATTRIBUTE_FOR, type QueueCount, type SqsBackendConfig } from './config.js';
import { type MetricPlan, planMetrics, queueNameOfUrl } from './metric-plans.js';
import { QueueAgeReader } from './queue-age.js';
import { QueuePrefixListing } from './queue-listing.js';
import { QUEUE_NAME_LABEL, QueueAllowList, queuesFromSelector } from './queue-selection.js';
import { describeQueue, type QueueRef, QueueUrlResolver } from './queue-urls.js';

/** What is cached per queue and attribute set: the counts and when SQS reported them. */
interface QueueReading {
  counts: Partial<Record<QueueCount, number>>;
  observedAtMs: number;
}

/**
 * SQS queues as external metrics: the backlog (ApproximateNumberOfMessages, plus NotVisible and
 * Delayed when configured) or the age of the oldest message (from CloudWatch). The generic
 * `sqs-queue-length` and `sqs-oldest-message-age` read the queues the `queue-name` selector label
 * names, within `allowQueues`; named metrics read one queue, a list, or every queue of a prefix.
 * Several queues are summed or maxed.
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
  const ages = new QueueAgeReader(ageSettings(config), context, options, metrics);
  const prefixes = [...plans.values()].flatMap((plan) => (plan.prefix ? [plan.prefix] : []));
  const listing = new QueuePrefixListing(
    prefixes,
    async (prefix, signal) => {
      const queues: QueueRef[] = [];
      let nextToken: string | undefined;
      do {
        const output = await aws.renewingExpired(prefix.accountId, () =>
          callAws(
            metrics,
            { service: 'SQS', operation: 'ListQueues', target: `SQS queues named "${prefix.prefix}*"` },
            () =>
              aws
                .clientFor(prefix.region, prefix.accountId)
                .send(
                  new ListQueuesCommand({ QueueNamePrefix: prefix.prefix, MaxResults: 1000, NextToken: nextToken }),
                  {
                    abortSignal: signal,
                  },
                ),
          ),
        );
        for (const url of output.QueueUrls ?? []) {
          const ref: QueueRef = { name: queueNameOfUrl(url), url };
          if (prefix.region !== undefined) ref.region = prefix.region;
          if (prefix.accountId !== undefined) ref.accountId = prefix.accountId;
          queues.push(ref);
        }
        nextToken = output.NextToken;
      } while (nextToken && queues.length < MAX_LISTED_QUEUES);
      return queues;
    },
    config.listIntervalSeconds * 1000,
    context.logger,
  );
  const infos = [...plans.keys()].map((metric) => ({ metric }));

  const urls = new QueueUrlResolver(async (ref) => {
    const output = await aws.renewingExpired(ref.accountId, () =>
      callAws(metrics, { service: 'SQS', operation: 'GetQueueUrl', target: describeQueue(ref) }, () =>
        aws
          .clientFor(ref.region, ref.accountId)
          .send(new GetQueueUrlCommand({ QueueName: ref.name, QueueOwnerAWSAccountId: ref.accountId })),
      ),
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
        context.logger.debug(
          { operation: 'GetQueueAttributes', metric, input: { QueueUrl: url, AttributeNames: attributeNames } },
          AWS_REQUEST_LOG,
        );
        try {
          const output = await aws.renewingExpired(ref.accountId, () =>
            callAws(
              metrics,
              { service: 'SQS', operation: 'GetQueueAttributes', target: describeQueue(ref), metrics: [metric] },
              () =>
                aws
                  .clientFor(ref.region, ref.accountId)
                  .send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: attributeNames }), {
                    abortSignal: loadSignal,
                  }),
            ),
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

  /** The queues a request reads: its selector's for a generic metric, the configured or listed ones else. */
  const queuesOf = (plan: MetricPlan, request: ExternalMetricRequest): readonly QueueRef[] => {
    if (plan.queues) return plan.queues;
    if (plan.prefix) {
      const listed = listing.queues(plan.prefix);
      if (!listed) {
        throw ApiError.unavailable(
          `external metric "${plan.name}": the queues named "${plan.prefix.prefix}*" are not listed yet (ListQueues failed; see the log)`,
        );
      }
      return listed;
    }
    const selected = queuesFromSelector(plan.name, request.metricSelector);
    for (const queue of selected) allowList.check(plan.name, queue.name);
    return selected;
  };

  const readValue = async (plan: MetricPlan, queue: QueueRef, request: ExternalMetricRequest) => {
    if (plan.signal === 'oldestMessageAge') return ages.read(queue, request, plan.name);
    const reading = await readQueue(queue, plan.include, request, plan.name);
    const value = plan.include.reduce((sum, count) => sum + (reading.counts[count] ?? 0), 0);
    return { value, observedAtMs: reading.observedAtMs };
  };

  const external: ExternalMetricsProvider = {
    async getExternalMetric(request) {
      const plan = plans.get(request.metric);
      if (!plan) throw ApiError.notFound(`the sqs backend has no external metric "${request.metric}"`);
      checkNamespace(plan.name, request.namespace, plan.namespaces, plan.namespaceRule);
      const queues = queuesOf(plan, request);
      const labels = pinnedLabels(request.metricSelector);
      if (queues.length === 1 && queues[0]) labels[QUEUE_NAME_LABEL] = queues[0].name;
      // A named metric's selector can only narrow: one naming another queue selects nothing.
      if (plan.queues && !request.metricSelector.matches(labels)) return [];
      if (queues.length === 0) {
        throw ApiError.notFound(
          `external metric "${plan.name}": no SQS queue is named "${plan.prefix?.prefix ?? ''}*"`,
        );
      }
      const readings = await Promise.all(queues.map((queue) => readValue(plan, queue, request)));
      const values = readings.map((r) => r.value);
      const value = plan.aggregate === 'max' ? Math.max(...values) : values.reduce((a, b) => a + b, 0);
      // The oldest observation among them: the value is no newer than that.
      const observedAtMs = Math.min(...readings.map((r) => r.observedAtMs));
      return [{ labels, value, timestamp: new Date(observedAtMs) }];
    },
    listExternalMetrics: () => infos,
    servesExternal: (metric) => plans.has(metric),
  };

  return aws.backend(external, {
    async start() {
      await listing.start();
      if (generic.enabled && config.allowQueues.length === 0) {
        context.logger.warn(
          { metric: generic.name },
          'sqs: allowQueues is empty, so the generic queue-length metric answers 403 for every queue',
        );
      }
    },
    close() {
      listing.close();
      ages.close();
    },
  });
}

/** Queues one prefix may list; ListQueues pages hold 1,000. */
const MAX_LISTED_QUEUES = 10_000;

/** The age metrics' CloudWatch client: the section's deadlines, retries, region and accounts, CloudWatch's endpoint. */
function ageSettings(config: SqsBackendConfig): AwsConnectionSettings {
  const { endpoint: _sqsEndpoint, cloudWatchEndpoint, ...shared } = config;
  return cloudWatchEndpoint === undefined ? shared : { ...shared, endpoint: cloudWatchEndpoint };
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
