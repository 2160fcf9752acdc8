import { ApiError } from '../../api/errors.js';
import { isCachedEntry, markCachedEntry } from '../../cache/entry-identity.js';
import { GrowingLru } from '../../cache/growing-lru.js';
import type { CacheCaller, QueryCache } from '../../cache/query-cache.js';
import type { ObjectSummary } from '../../kube/types.js';
import { clip } from '../../lib/text.js';
import type { Logger } from '../../observability/logger.js';
import type {
  CustomMetricByNameRequest,
  CustomMetricBySelectorRequest,
  ExternalMetricRequest,
  ObjectSample,
} from '../provider.js';
import type { CustomEntry, ExternalEntry } from './announced-metrics.js';
import type { PrometheusClient, PromSample } from './client.js';
import type { PrometheusBackendMetrics } from './metrics.js';
import { type RenderedQuery, renderCustomQuery, renderExternalQuery } from './query.js';
import { memoKey, RenderedQueries } from './rendered-queries.js';
import type { CompiledRule } from './rules.js';
import { servedSamples } from './served-samples.js';

/**
 * The query part of the Prometheus backend: a discovered entry and a request become PromQL
 * (remembered per request shape), the PromQL goes through the cache to Prometheus, and what comes
 * back is what the backend serves (NaN as the entry's rule reads it, see served-samples.ts; an
 * answer holding ±Inf is a failed load).
 * It knows nothing of discovery beyond the entry it is handed; `forget()` is called when the
 * entries change (a relist), since its memos are keyed by metric name, not by entry.
 */
export interface MetricQueries {
  /** The samples of an external rule's query. */
  external(entry: ExternalEntry, request: ExternalMetricRequest): Promise<readonly PromSample[]>;
  /** The samples of a custom query naming one object, and the label that names it. */
  object(
    entry: CustomEntry,
    request: CustomMetricByNameRequest,
  ): Promise<{ samples: readonly PromSample[]; rendered: RenderedQuery }>;
  /** One sample per selected object that has one, in the objects' order. */
  selection(
    entry: CustomEntry,
    request: CustomMetricBySelectorRequest,
    objects: readonly ObjectSummary[],
  ): Promise<readonly ObjectSample[]>;
  forget(): void;
}

export interface MetricQueriesOptions {
  client: Pick<PrometheusClient, 'query'>;
  /** The server's name, for metrics; logs name it through `logger`. */
  server: string;
  /** Put before each PromQL to make the cache key, so two sources sharing a cache never share an answer. */
  keyPrefix: string;
  cache: QueryCache;
  now: () => Date;
  metrics: PrometheusBackendMetrics;
  logger: Logger;
}

/** Selector answers kept: at most this many, naming at most this many objects in all (~20 MiB with their bodies). */
const KEPT_SELECTIONS = 4096;
const KEPT_SELECTION_OBJECTS = 50_000;

/** Something rendered, and the key its PromQL is cached under. */
interface Keyed<Rendered> {
  rendered: Rendered;
  key: string;
}

interface Selection {
  objects: readonly ObjectSummary[];
  rendered: RenderedQuery;
  key: string;
  samples?: readonly PromSample[];
  answer?: readonly ObjectSample[];
}

export function createMetricQueries(options: MetricQueriesOptions): MetricQueries {
  const { client, cache, metrics, logger } = options;

  /** One PromQL read two ways (NaN as 0 or as no data) is cached as two answers. */
  function cacheKeyOf(promql: string, rule: CompiledRule): string {
    return options.keyPrefix + promql + (rule.nan === 'zero' ? '' : '\n# NaN read as no data');
  }

  /** `key` is cacheKeyOf(promql, rule), kept beside the rendered PromQL: a hit builds no key string. */
  function query(promql: string, key: string, rule: CompiledRule, caller: CacheCaller): Promise<readonly PromSample[]> {
    return cache.fetch(
      key,
      async (loadSignal) => {
        const result = await client.query(promql, options.now(), loadSignal);
        const { served, dropped } = servedSamples(result.samples, rule.nan);
        const infinite = dropped.filter((s) => !Number.isNaN(s.value));
        if (infinite.length > 0) {
          metrics.droppedSamples.inc({ server: options.server }, dropped.length);
          // No quantity holds ±Inf (1e400 parses to it too): the answer is unusable, as a malformed
          // one is, so the cache keeps serving the last good value under the metric's failure
          // policy instead of remembering an answer with the series missing (a 404).
          throw ApiError.unavailable(
            `prometheus server "${options.server}" answered ${describeInfinite(infinite)} to ${clip(promql, 200)}, which no Kubernetes quantity can hold`,
          );
        }
        if (dropped.length > 0) {
          metrics.droppedSamples.inc({ server: options.server }, dropped.length);
          logger.debug(
            { promql, dropped: dropped.map((s) => ({ labels: s.labels, value: String(s.value) })) },
            'prometheus returned NaN: dropped, never served (the rule reads NaN as no data)',
          );
        }
        logger.debug({ promql, samples: served.length }, 'prometheus query');
        return served;
      },
      caller,
    );
  }

  // Rendered PromQL per request shape (see RenderedQueries), each with its cache key.
  const renderedExternal = new RenderedQueries<Keyed<string>>();
  const renderedObject = new RenderedQueries<Keyed<RenderedQuery>>();

  // For a selector, the PromQL names the selected objects: it is kept while the lister hands out
  // the same (frozen) objects (see KubeClient.listObjects), and the answer while the cache hands
  // out the same samples. Bounded by the objects kept, since PromQL, answer and the body the HTTP
  // layer keeps beside it all grow with them (a few hundred bytes per object).
  const renderedSelection = new GrowingLru<string, Selection>(KEPT_SELECTIONS, {
    maxSize: KEPT_SELECTION_OBJECTS,
    sizeCalculation: (selection) => selection.objects.length + 1,
  });

  function selectionQuery(
    entry: CustomEntry,
    request: CustomMetricBySelectorRequest,
    objects: readonly ObjectSummary[],
  ): Selection {
    const { metric, resource, namespace, objectSelector, metricSelector } = request;
    const key = memoKey(
      metric,
      resource.group,
      resource.resource,
      namespace,
      objectSelector.toString(),
      metricSelector.toString(),
    );
    const kept = renderedSelection.get(key);
    if (kept?.objects === objects) return kept;
    const rendered = renderCustomQuery({
      rule: entry.rule,
      seriesName: entry.seriesName,
      resource,
      namespace,
      names: objects.map((o) => o.name),
      metricSelector,
    });
    const selection: Selection = { objects, rendered, key: cacheKeyOf(rendered.promql, entry.rule) };
    if (Object.isFrozen(objects) && objects.length < KEPT_SELECTION_OBJECTS) renderedSelection.set(key, selection);
    return selection;
  }

  return {
    external(entry, request) {
      const { metric, namespace, metricSelector } = request;
      const { rendered, key } = renderedExternal.get(memoKey(metric, namespace, metricSelector.toString()), () => {
        const promql = renderExternalQuery({
          rule: entry.rule,
          seriesName: entry.seriesName,
          namespace,
          metricSelector,
        });
        return { rendered: promql, key: cacheKeyOf(promql, entry.rule) };
      });
      return query(rendered, key, entry.rule, request);
    },

    async object(entry, request) {
      const { object, metric, metricSelector } = request;
      const { resource, namespace, name } = object;
      const key = memoKey(metric, resource.group, resource.resource, namespace, name, metricSelector.toString());
      const kept = renderedObject.get(key, () => {
        const rendered = renderCustomQuery({
          rule: entry.rule,
          seriesName: entry.seriesName,
          resource,
          namespace,
          names: [name],
          metricSelector,
        });
        return { rendered, key: cacheKeyOf(rendered.promql, entry.rule) };
      });
      return { samples: await query(kept.rendered.promql, kept.key, entry.rule, request), rendered: kept.rendered };
    },

    async selection(entry, request, objects) {
      const selection = selectionQuery(entry, request, objects);
      const samples = await query(selection.rendered.promql, selection.key, entry.rule, request);
      if (selection.samples === samples && selection.answer) return selection.answer;
      const byName = new Map<string, PromSample>();
      for (const sample of samples) {
        const name = sample.labels[selection.rendered.objectLabel];
        if (name !== undefined && !byName.has(name)) byName.set(name, sample);
      }
      const answer = objects.flatMap((object) => {
        const sample = byName.get(object.name);
        return sample ? [{ name: object.name, value: sample.value, timestamp: sample.timestamp }] : [];
      });
      if (!Object.isFrozen(objects) || !isCachedEntry(samples)) return answer;
      // Both inputs are shared and unchanged while they are handed out again: so is the answer,
      // which therefore carries the cache's entry identity too (see providers/provider.ts).
      markCachedEntry(answer);
      for (const sample of answer) Object.freeze(sample);
      selection.samples = samples;
      selection.answer = Object.freeze(answer);
      return selection.answer;
    },

    forget() {
      renderedExternal.clear();
      renderedObject.clear();
      // Every server's relist forgets every source's memos (500 servers: 250,000 forgets per round
      // of relists), and clearing even an empty memo allocates its tables anew.
      if (renderedSelection.size > 0) renderedSelection.clear();
    },
  };
}

/** `+Inf for {pod="web-1"}` (and how many more), for the error a caller may see. */
function describeInfinite(samples: readonly PromSample[]): string {
  const [first] = samples;
  if (!first) return '';
  const labels = Object.entries(first.labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const more = samples.length > 1 ? ` (and ${samples.length - 1} more infinite series)` : '';
  return `${first.value > 0 ? '+Inf' : '-Inf'} for series {${clip(labels, 200)}}${more}`;
}
