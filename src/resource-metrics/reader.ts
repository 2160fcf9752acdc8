import { ApiError } from '../api/errors.js';
import type { NodeUsage, PodUsage } from '../api/resource-metrics.js';
import { withEntrySlot } from '../cache/entry-identity.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { ObjectLister, ObjectSummary, ResourceRef } from '../kube/types.js';
import type { Logger } from '../observability/logger.js';
import type { PrometheusClient, PromSample } from '../providers/prometheus/client.js';
import { KeptAnswers } from './kept-answers.js';
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
 * namespaces (rules.ts says which), each through the cache; usage.ts joins them, and the joined
 * answer is kept while the same objects and samples come back (kept-answers.ts).
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
        return Object.freeze(withEntrySlot(answer.samples));
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

  /**
   * The objects (from the cluster, else from the series) and both resources' samples, read at
   * once, joined by `join`: kept per request shape while the same objects and samples come back.
   */
  async function answer<T extends PodUsage | NodeUsage>(
    kept: KeptAnswers<T>,
    shape: string,
    queries: { key: 'containerQuery' | 'nodeQuery'; cpu: string; memory: string },
    listing: Promise<readonly ObjectSummary[]> | undefined,
    seriesObjects: (samples: Samples) => ObjectSummary[],
    request: PodUsageRequest | NodeUsageRequest,
    join: (objects: readonly ObjectSummary[], samples: Samples, problems: JoinProblems) => T[],
  ): Promise<readonly T[]> {
    const [listed, cpu, memory] = await Promise.all([
      listing,
      query(rules.cpu, queries.key, queries.cpu, request),
      query(rules.memory, queries.key, queries.memory, request),
    ]);
    const samples = { cpu, memory };
    if (!listed) standaloneSelector(request);
    return kept.get(shape, listed, samples, () => {
      const objects = named(listed ?? seriesObjects(samples), request.name);
      const problems: JoinProblems = { ambiguous: [] };
      const usage = join(objects, samples, problems);
      report(problems, queries.key === 'nodeQuery' ? 'nodes' : 'pods');
      return usage;
    });
  }

  const keptPods = new KeptAnswers<PodUsage>();
  const keptNodes = new KeptAnswers<NodeUsage>();

  return {
    pods(request) {
      const scope: PodScope =
        request.namespace === undefined
          ? {}
          : { namespace: request.namespace, ...(request.name !== undefined ? { name: request.name } : {}) };
      return answer(
        keptPods,
        shapeOf(request.namespace, request),
        {
          key: 'containerQuery',
          cpu: renderContainerQuery(rules.cpu, scope),
          memory: renderContainerQuery(rules.memory, scope),
        },
        kube?.listObjects(PODS_REF, request.namespace, request.selector.toString(), request.deadline),
        (found) =>
          objectsOfSamples(
            found,
            (q) => q.podLabel,
            (q) => q.namespaceLabel,
            rules,
          ),
        request,
        (objects, samples, problems) => podUsage(objects, samples, rules, request.namespace, problems),
      );
    },

    nodes(request) {
      const scope = request.name === undefined ? {} : { name: request.name };
      return answer(
        keptNodes,
        shapeOf(undefined, request),
        { key: 'nodeQuery', cpu: renderNodeQuery(rules.cpu, scope), memory: renderNodeQuery(rules.memory, scope) },
        kube?.listObjects(NODES_REF, undefined, request.selector.toString(), request.deadline),
        (found) => objectsOfSamples(found, (q) => q.nodeLabel, undefined, rules),
        request,
        (objects, samples, problems) => nodeUsage(objects, samples, rules, problems),
      );
    },
  };
}

/** What a request's answer depends on besides its inputs' identity. */
function shapeOf(namespace: string | undefined, request: PodUsageRequest | NodeUsageRequest): string {
  return `${namespace ?? ''}\0${request.name ?? ''}\0${request.selector.toString()}`;
}

function named(objects: readonly ObjectSummary[], name: string | undefined): readonly ObjectSummary[] {
  return name === undefined ? objects : objects.filter((o) => o.name === name);
}

/** Without a cluster the series are all there is: their objects have no labels, so a selector cannot apply. */
function standaloneSelector(request: PodUsageRequest | NodeUsageRequest): void {
  if (request.selector.requirements.length > 0) {
    throw ApiError.badRequest(
      'labelSelector needs the Kubernetes API to read the objects labels: this adapter runs standalone',
    );
  }
}
