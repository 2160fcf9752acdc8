import { SQSClient } from '@aws-sdk/client-sqs';
import { ApiError } from '../../api/errors.js';
import { type AwsBackendOptions, awsBackendBase, withCredentialSources } from '../aws/backend-base.js';
import type { AwsConnectionSettings } from '../aws/config.js';
import { pinnedLabels } from '../aws/selector-labels.js';
import type { BackendContext } from '../context.js';
import { checkNamespace } from '../namespace-access.js';
import type { ExternalMetricRequest, ExternalMetricsProvider, MetricsBackend } from '../provider.js';
import type { SqsBackendConfig } from './config.js';
import { type MetricPlan, planMetrics } from './metric-plans.js';
import { QueueAgeReader } from './queue-age.js';
import { queueAttributesReader } from './queue-attributes.js';
import { listQueuesByPrefix, QueuePrefixListing } from './queue-listing.js';
import { QUEUE_NAME_LABEL, QueueAllowList, queuesFromSelector } from './queue-selection.js';
import { getQueueUrl, type QueueRef, QueueUrlResolver } from './queue-urls.js';

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
  given: AwsBackendOptions = {},
): MetricsBackend {
  // Settled once: the SQS and the age metrics' CloudWatch clients share the roles' credentials.
  const options = withCredentialSources(given);
  const aws = awsBackendBase('sqs', config, context, options, (clientConfig) => new SQSClient(clientConfig));
  const allowList = new QueueAllowList(config.allowQueues);
  const plans = planMetrics(config);
  const ages = new QueueAgeReader(ageSettings(config), context, options, aws.metrics);
  const prefixes = [...plans.values()].flatMap((plan) => (plan.prefix ? [plan.prefix] : []));
  const listing = new QueuePrefixListing(
    prefixes,
    listQueuesByPrefix(aws),
    config.listIntervalSeconds * 1000,
    context.logger,
  );
  const readQueue = queueAttributesReader(aws, new QueueUrlResolver(getQueueUrl(aws)), context);
  const infos = [...plans.keys()].map((metric) => ({ metric }));

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
      const queues = queuesOf(plan, request, listing, allowList);
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
      const generic = config.queueLengthMetric;
      if (generic.enabled && config.allowQueues.length === 0) {
        context.logger.warn(
          { metric: generic.name },
          'sqs: allowQueues is empty, so the generic queue-length metric answers 403 for every queue',
        );
      }
    },
    async close() {
      ages.close();
      await listing.close();
    },
  });
}

/** The queues a request reads: its selector's for a generic metric, the configured or listed ones else. */
function queuesOf(
  plan: MetricPlan,
  request: ExternalMetricRequest,
  listing: QueuePrefixListing,
  allowList: QueueAllowList,
): readonly QueueRef[] {
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
}

/** The age metrics' CloudWatch client: the section's deadlines, retries, region and accounts, CloudWatch's endpoint. */
function ageSettings(config: SqsBackendConfig): AwsConnectionSettings {
  const { endpoint: _sqsEndpoint, cloudWatchEndpoint, ...shared } = config;
  return cloudWatchEndpoint === undefined ? shared : { ...shared, endpoint: cloudWatchEndpoint };
}
