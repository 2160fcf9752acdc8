import { ApiError } from '../api/errors.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { ObjectLister, ObjectSummary, ResourceRef } from '../kube/types.js';
import type { Logger } from '../observability/logger.js';
import type { PrometheusClient, PromSample } from '../providers/prometheus/client.js';
import type { NodeUsageRequest, PodUsageRequest, ResourceMetricsReader } from './provider.js';
import {
  type CompiledResourceRules,
  type PodScope,
  type ResourceQuery,
  renderContainerQuery,
  renderNodeQuery,
} from './rules.js';
import { type JoinProblems, nodeUsage, objectsOfSamples, podUsage, type Samples } from './usage.js';

const PODS_REF: ResourceRef = { group: '', version: 'v1', resource: 'pods' };
const NODES_REF: ResourceRef = { group: '', version: 'v1', resource: 'nodes' };

export interface PrometheusResourceReaderOptions {
  rules: CompiledResourceRules;
  client: PrometheusClient;
  /** The Prometheus server's cache: every query goes through it. */
  cache: QueryCache;
  /** Lists pods and nodes (the metadata informers); absent when standalone: the series name the objects. */
  kube?: ObjectLister;
  now: () => Date;
  logger: Logger;
}

/**
 * metrics.k8s.io from `resourceRules`: the objects come from the cluster (the metadata informers),
 * the usage from two queries per request, one per resource, whatever the number of pods or
 * namespaces (rules.ts says which), each through the cache; usage.ts joins them.
 */
export function createPrometheusResourceReader(options: PrometheusResourceReaderOptions): ResourceMetricsReader {
  const { rules, client, cache, kube, logger } = options;

  async function query(
    resource: ResourceQuery,
    key: string,
    promql: string,
    request: PodUsageRequest | NodeUsageRequest,
  ) {
    const result = await cache.fetch(
      promql,
      async (signal) => {
        const answer = await client.query(promql, options.now(), signal);
        if (answer.resultType !== 'vector') {
          throw ApiError.badRequest(
            `${resource.field}.${key} must produce an instant vector; Prometheus at ${client.url} answered a ${answer.resultType}: ${promql}`,
          );
        }
        return Object.freeze(answer.samples);
      },
      request,
    );
    return result as readonly PromSample[];
  }

  function report(problems: JoinProblems, what: string): void {
    if (problems.ambiguous.length === 0) return;
    logger.warn(
      { objects: problems.ambiguous.slice(0, 10), count: problems.ambiguous.length },
      `resourceRules: left out ${what} with two series for one container or node and resource; the query must aggregate by the labels in .GroupBy`,
    );
  }

  /** The objects (from the cluster, else from the series) and both resources' samples, read at once. */
  async function gather(
    key: 'containerQuery' | 'nodeQuery',
    queries: { cpu: string; memory: string },
    listing: Promise<readonly ObjectSummary[]> | undefined,
    seriesObjects: (samples: Samples) => ObjectSummary[],
    request: PodUsageRequest | NodeUsageRequest,
  ): Promise<{ objects: readonly ObjectSummary[]; samples: Samples }> {
    const [listed, cpu, memory] = await Promise.all([
      listing,
      query(rules.cpu, key, queries.cpu, request),
      query(rules.memory, key, queries.memory, request),
    ]);
    const samples = { cpu, memory };
    const objects = listed ?? standaloneObjects(request, seriesObjects(samples));
    return { objects: named(objects, request.name), samples };
  }

  return {
    async pods(request) {
      const scope: PodScope =
        request.namespace === undefined
          ? {}
          : { namespace: request.namespace, ...(request.name !== undefined ? { name: request.name } : {}) };
      const { objects, samples } = await gather(
        'containerQuery',
        { cpu: renderContainerQuery(rules.cpu, scope), memory: renderContainerQuery(rules.memory, scope) },
        kube?.listObjects(PODS_REF, request.namespace, request.selector.toString(), request.deadline),
        (found) =>
          objectsOfSamples(
            found,
            (q) => q.podLabel,
            (q) => q.namespaceLabel,
            rules,
          ),
        request,
      );
      const problems: JoinProblems = { ambiguous: [] };
      const usage = podUsage(objects, samples, rules, request.namespace, problems);
      report(problems, 'pods');
      return usage;
    },

    async nodes(request) {
      const scope = request.name === undefined ? {} : { name: request.name };
      const { objects, samples } = await gather(
        'nodeQuery',
        { cpu: renderNodeQuery(rules.cpu, scope), memory: renderNodeQuery(rules.memory, scope) },
        kube?.listObjects(NODES_REF, undefined, request.selector.toString(), request.deadline),
        (found) => objectsOfSamples(found, (q) => q.nodeLabel, undefined, rules),
        request,
      );
      const problems: JoinProblems = { ambiguous: [] };
      const usage = nodeUsage(objects, samples, rules, problems);
      report(problems, 'nodes');
      return usage;
    },
  };
}

function named(objects: readonly ObjectSummary[], name: string | undefined): readonly ObjectSummary[] {
  return name === undefined ? objects : objects.filter((o) => o.name === name);
}

/** Without a cluster the series are all there is: their objects have no labels, so a selector cannot apply. */
function standaloneObjects(
  request: PodUsageRequest | NodeUsageRequest,
  objects: ObjectSummary[],
): readonly ObjectSummary[] {
  if (request.selector.requirements.length > 0) {
    throw ApiError.badRequest(
      'labelSelector needs the Kubernetes API to read the objects labels: this adapter runs standalone',
    );
  }
  return objects;
}
