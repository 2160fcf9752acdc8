import { Registry } from 'prom-client';
import { ApiError } from '../api/errors.js';
import type { GroupResource } from '../api/group-resource.js';
import { formatGroupResource, sameGroupResource } from '../api/resources.js';
import { parseSelector } from '../api/selector.js';
import type { AdapterConfig } from '../config/schema.js';
import { deadlineOf } from '../lib/deadline.js';
import { silentLogger } from '../observability/logger.js';
import type { PrometheusOverrides } from '../providers/prometheus/settings.js';
import type { BackendRouter } from '../providers/router.js';
import { type RunningBackends, startBackends } from '../startup/backends.js';
import { explainUpstreams } from '../upstreams/explain.js';

/**
 * Where `explain METRIC` finds the answer: the backends and upstreams of the config, built and
 * started as serving builds them (startBackends), each upstream's discovery fetched once, so the
 * question goes to the very router and routing table a request goes to, not to a second copy of
 * their rules.
 */
export async function startRouting(
  config: AdapterConfig,
  flags: Partial<PrometheusOverrides>,
  now: () => Date,
): Promise<RunningBackends> {
  const running = await startBackends(config, { flags, logger: silentLogger(), registry: new Registry(), now });
  await Promise.all(running.upstreams.current.map((upstream) => upstream.discovery.refresh()));
  return running;
}

export interface RouteQuestion {
  metric: string;
  /** Asked as an external metric (--external), or a custom one of `resource`. */
  external: boolean;
  resource?: GroupResource;
}

/** What a request for the metric meets: an upstream, one of our backends, or the error it gets. */
export type Route = { upstream: string } | { backend: string } | { error: ApiError };

/**
 * The question made whole as a request is: a custom metric without --resource is taken for the
 * resource its name is announced for (pods first), and a name announced for no resource is asked
 * as an external metric.
 */
export function completeQuestion(
  router: BackendRouter,
  question: { metric: string; external: boolean; resource?: GroupResource },
): RouteQuestion {
  if (question.external || question.resource) return question;
  const announced = router.listCustomMetrics().filter((m) => m.metric === question.metric);
  const pods = announced.find((m) => m.resource.group === '' && m.resource.resource === 'pods');
  const resource = (pods ?? announced[0])?.resource;
  return resource ? { ...question, resource } : { ...question, external: true };
}

/** Prints and returns where a request for the metric goes, asking what serving asks. */
export function explainRoute(running: RunningBackends, question: RouteQuestion, print: (line?: string) => void): Route {
  const { metric, resource } = question;
  const asked = question.external || !resource ? undefined : resource;
  if (running.upstreams.current.length > 0) {
    const upstream = explainUpstreams(running.upstreams, { metric, ...(asked ? { resource: asked } : {}) }, print);
    if (upstream !== undefined) return { upstream };
  }
  const what = asked ? `custom metric ${metric} for ${formatGroupResource(asked)}` : `external metric ${metric}`;
  try {
    const backend = asked ? running.router.customOwner(asked, metric) : running.router.externalOwner(metric);
    print(`${what}: answered by our ${backend.name} backend`);
    return { backend: backend.name };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    print(`${what}: a request gets ${error.code} ${error.reason}: ${error.message}`);
    return { error };
  }
}

export interface ValueQuestion extends RouteQuestion {
  namespace?: string;
  names?: string[];
  objectSelector?: string;
  metricSelector: string;
}

/** The value(s) a request gets through the router, for a backend explain has no closer view of (static). */
export async function explainServedValue(
  router: BackendRouter,
  question: ValueQuestion,
  print: (line?: string) => void,
): Promise<boolean> {
  const deadline = deadlineOf(AbortSignal.timeout(30_000));
  const metricSelector = parseSelector(question.metricSelector);
  try {
    const { resource } = question;
    if (question.external || !resource) {
      const namespace = question.namespace ?? 'default';
      const samples = await router.getExternalMetric({ namespace, metric: question.metric, metricSelector, deadline });
      for (const s of samples) print(`value: ${s.value} labels ${JSON.stringify(s.labels)}`);
      if (samples.length === 0) print('value: none (no series matches the selector)');
      return samples.length > 0;
    }
    const info = router
      .listCustomMetrics()
      .find((m) => m.metric === question.metric && sameGroupResource(m.resource, resource));
    const namespace = info?.namespaced === false ? undefined : (question.namespace ?? 'default');
    const where = namespace === undefined ? {} : { namespace };
    const samples =
      question.names && question.names.length > 0
        ? await Promise.all(
            question.names.map(async (name) => ({
              name,
              ...(await router.getMetricByName({
                object: { resource, name, ...where },
                metric: question.metric,
                metricSelector,
                deadline,
              })),
            })),
          )
        : await router.getMetricBySelector({
            resource,
            ...where,
            objectSelector: parseSelector(question.objectSelector ?? ''),
            metric: question.metric,
            metricSelector,
            deadline,
          });
    for (const s of samples) print(`value: ${namespace === undefined ? '' : `${namespace}/`}${s.name} ${s.value}`);
    if (samples.length === 0) print('value: none (no object matches the selector)');
    return samples.length > 0;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    print(`value: none: ${error.code} ${error.reason}: ${error.message}`);
    return false;
  }
}
