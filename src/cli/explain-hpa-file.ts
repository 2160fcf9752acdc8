// `explain hpa --hpa-file`: the HPA's metrics asked of the adapter's own backends, through the
// router serving uses, with no cluster; and, with a config, each metric's failure policy.

import { ApiError } from '../api/errors.js';
import { formatQuantity } from '../api/quantity.js';
import { parseSelector } from '../api/selector.js';
import type { AdapterConfig } from '../config/schema.js';
import type { ControllerRequest } from '../hpa/controller-requests.js';
import type { FailureAnswers, MetricAnswer } from '../hpa/hpa-explanation.js';
import { deadlineOf } from '../lib/deadline.js';
import { cloudWatchFailurePolicies } from '../providers/cloudwatch/module.js';
import type { FailurePolicy } from '../providers/failure-policy/config.js';
import { prometheusFailurePolicies } from '../providers/prometheus/module.js';
import type { BackendRouter } from '../providers/router.js';
import { sqsFailurePolicies } from '../providers/sqs/module.js';

const POD = { group: '', resource: 'pods' };
const FALLIBLE_BACKENDS = ['prometheus', 'sqs', 'cloudwatch'] as const;

/** The request's answer from our router, as kube-apiserver would pass it on: items, or the Status. */
export async function askRouter(
  router: BackendRouter,
  request: ControllerRequest,
  podSelector: string,
): Promise<MetricAnswer> {
  const deadline = deadlineOf(AbortSignal.timeout(30_000));
  try {
    const { namespace, metric, metricSelector } = request;
    if (request.kind === 'external') {
      const samples = await router.getExternalMetric({ namespace, metric, metricSelector, deadline });
      return { status: 200, items: samples.map((s) => ({ value: formatQuantity(s.value), labels: s.labels })) };
    }
    if (request.kind === 'object') {
      const object = { resource: request.resource, name: request.name, namespace };
      const sample = await router.getMetricByName({ object, metric, metricSelector, deadline });
      return { status: 200, items: [{ name: request.name, value: formatQuantity(sample.value) }] };
    }
    const samples = await router.getMetricBySelector({
      resource: POD,
      namespace,
      objectSelector: parseSelector(podSelector),
      metric,
      metricSelector,
      deadline,
    });
    return { status: 200, items: samples.map((s) => ({ name: s.name, value: formatQuantity(s.value) })) };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { status: error.code, reason: error.reason, message: error.message };
  }
}

/** What the metric's backend answers with no data or while down, by the config's failure policies. */
export function failureAnswersOf(
  config: AdapterConfig,
  router: BackendRouter,
  request: ControllerRequest,
): FailureAnswers | undefined {
  let backend: string;
  try {
    backend =
      request.kind === 'external'
        ? router.externalOwner(request.metric).name
        : router.customOwner(request.kind === 'pods' ? POD : request.resource, request.metric).name;
  } catch {
    // A source that has not been read (a Prometheus down since start) owns no metric yet: with
    // one backend that can fail in the config, the metric can only be that backend's.
    const configured = FALLIBLE_BACKENDS.filter((key) => config[key] !== undefined);
    if (configured.length !== 1 || configured[0] === undefined) return undefined;
    backend = configured[0];
  }
  const policy = policyOf(config, backend, request.metric);
  if (!policy) return undefined;
  const sqs = config.sqs;
  // An empty queue's backlog is 0, an answer; its oldest-message age has no datapoint.
  const noDataPossible =
    backend !== 'sqs' ||
    (sqs !== undefined &&
      ((sqs.oldestMessageAgeMetric.enabled && sqs.oldestMessageAgeMetric.name === request.metric) ||
        sqs.metrics.some((m) => m.name === request.metric && m.signal === 'oldestMessageAge')));
  return {
    backend,
    noDataIsError: policy.noData === 'error',
    noDataPossible,
    onError: typeof policy.onError === 'number' ? 'value' : policy.onError,
    ...(policy.maxStaleMs === undefined ? {} : { maxStale: `${policy.maxStaleMs / 1000}s` }),
  };
}

function policyOf(config: AdapterConfig, backend: string, metric: string): FailurePolicy | undefined {
  switch (backend) {
    case 'prometheus':
      return prometheusFailurePolicies(config.prometheus)(metric);
    case 'sqs':
      return config.sqs && sqsFailurePolicies(config.sqs)(metric);
    case 'cloudwatch':
      return config.cloudwatch && cloudWatchFailurePolicies(config.cloudwatch)(metric);
    default:
      return undefined;
  }
}
