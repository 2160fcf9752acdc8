import { LRUCache } from 'lru-cache';
import { BUILTIN_RESOURCES } from '../../api/builtin-resources.js';
import { ApiError } from '../../api/errors.js';
import type { ResourceResolver } from '../../api/resource-table.js';
import { formatGroupResource, type GroupResource } from '../../api/resources.js';
import { type CacheCaller, isCachedEntry, markCachedEntry } from '../../cache/query-cache.js';
import { ConfigError } from '../../config/errors.js';
import type { ObjectSummary } from '../../kube/types.js';
import { clip } from '../../lib/text.js';
import type { BackendContext } from '../context.js';
import type {
  CustomMetricByNameRequest,
  CustomMetricBySelectorRequest,
  CustomMetricsProvider,
  ExternalMetricRequest,
  ExternalMetricsProvider,
  ExternalSample,
  MetricsBackend,
  ObjectSample,
  Sample,
} from '../provider.js';
import { customMetricKey } from '../provider.js';
import { createPrometheusClient, type PrometheusClient, type PromSample } from './client.js';
import {
  buildDiscovery,
  type CustomEntry,
  type Discovery,
  EMPTY_DISCOVERY,
  type ExternalEntry,
  listSeries,
  type Series,
} from './discovery.js';
import { type PrometheusBackendMetrics, prometheusMetricsFor } from './metrics.js';
import { type RenderedQuery, renderCustomQuery, renderExternalQuery } from './query.js';
import { memoKey, RenderedQueries } from './rendered-queries.js';
import { type CompiledRule, compileRule, RuleError } from './rules.js';
import { servedSamples } from './served-samples.js';
import type { PrometheusSettings } from './settings.js';

export interface PrometheusBackend extends MetricsBackend {
  readonly custom: CustomMetricsProvider;
  readonly external: ExternalMetricsProvider;
  readonly client: PrometheusClient;
  /** What the last relist found, per rule. */
  discovery(): Discovery;
  /** Runs series discovery now (start() does, then every relist interval). */
  relist(): Promise<void>;
}

/** Selector answers kept: at most this many, naming at most this many objects in all (~20 MiB with their bodies). */
const KEPT_SELECTIONS = 4096;
const KEPT_SELECTION_OBJECTS = 50_000;

interface Selection {
  objects: readonly ObjectSummary[];
  rendered: RenderedQuery;
  samples?: readonly PromSample[];
  answer?: readonly ObjectSample[];
}

/** After a failed relist, try again this soon (or at the interval, if shorter). */
const RETRY_AFTER_FAILURE_MS = 5_000;

/** Compiles the rules of a config; a rule that cannot compile is a ConfigError naming its field. */
export function compileRules(
  settings: Pick<PrometheusSettings, 'rules' | 'externalRules'>,
  resources: ResourceResolver,
): CompiledRule[] {
  try {
    return [
      ...settings.rules.map((rule, i) => compileRule(rule, 'custom', i, resources)),
      ...settings.externalRules.map((rule, i) => compileRule(rule, 'external', i, resources)),
    ];
  } catch (error) {
    if (error instanceof RuleError) throw new ConfigError(`field ${error.message}`);
    throw error;
  }
}

/**
 * prometheus-adapter's rules served through the provider contract. Cheap to build (rules are
 * compiled, nothing is fetched) so a reloaded config can build a new one beside the running one;
 * start() runs the first discovery, close() stops the relist timer and drops idle sockets.
 */
export function createPrometheusBackend(
  settings: PrometheusSettings,
  context: BackendContext,
  options: { client?: PrometheusClient } = {},
): PrometheusBackend {
  const rules = compileRules(settings, context.resources ?? BUILTIN_RESOURCES);
  const metrics = prometheusMetricsFor(context.registry);
  const client = options.client ?? clientFor(settings, metrics);
  const logger = context.logger.child({ backend: 'prometheus' });
  let current: Discovery = EMPTY_DISCOVERY;
  const lastGood = new Map<string, Series[]>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const stopping = new AbortController();

  async function relist(): Promise<boolean> {
    const end = context.now();
    const start = new Date(end.getTime() - settings.maxAgeMs);
    const found = await listSeries(client, rules, { start, end }, stopping.signal);
    if (stopping.signal.aborted) return false;
    let failures = 0;
    for (const [query, result] of found) {
      if (!(result instanceof Error)) {
        lastGood.set(query, result);
        continue;
      }
      failures++;
      const kept = lastGood.get(query);
      logger.warn(
        { seriesQuery: query, err: result.message, keptSeries: kept?.length ?? 0 },
        kept ? 'series discovery failed: keeping the last good series of this query' : 'series discovery failed',
      );
      if (kept) found.set(query, kept);
    }
    current = buildDiscovery(rules, found);
    renderedExternal.clear();
    renderedObject.clear();
    renderedSelection.clear();
    metrics.relists.inc({ outcome: failures === 0 ? 'success' : 'failure' });
    if (failures === 0) metrics.lastRelistSuccess.set(end.getTime() / 1000);
    metrics.announced.set({ api: 'custom' }, current.customList.length);
    metrics.announced.set({ api: 'external' }, current.externalList.length);
    logger.debug(
      { custom: current.customList.length, external: current.externalList.length, failedQueries: failures },
      'prometheus series discovery done',
    );
    return failures === 0;
  }

  function schedule(delayMs: number): void {
    if (closed) return;
    timer = setTimeout(() => {
      void relist().then(
        (ok) => schedule(ok ? settings.relistIntervalMs : Math.min(settings.relistIntervalMs, RETRY_AFTER_FAILURE_MS)),
        () => schedule(settings.relistIntervalMs),
      );
    }, delayMs);
    timer.unref();
  }

  function query(promql: string, caller: CacheCaller): Promise<readonly PromSample[]> {
    return context.cache.fetch(
      promql,
      async (loadSignal) => {
        const result = await client.query(promql, context.now(), loadSignal);
        const { served, dropped } = servedSamples(result.samples);
        if (dropped.length > 0) {
          metrics.droppedSamples.inc(dropped.length);
          logger.debug(
            { promql, dropped: dropped.map((s) => ({ labels: s.labels, value: String(s.value) })) },
            'prometheus returned NaN or infinite values: dropped, never served',
          );
        }
        logger.debug({ promql, samples: served.length }, 'prometheus query');
        return served;
      },
      caller,
    );
  }

  // Rendered PromQL per request shape; both are cleared by a relist (see RenderedQueries).
  const renderedExternal = new RenderedQueries<string>();
  const renderedObject = new RenderedQueries<RenderedQuery>();

  function externalPromql(entry: ExternalEntry, request: ExternalMetricRequest): string {
    const { metric, namespace, metricSelector } = request;
    return renderedExternal.get(memoKey(metric, namespace, metricSelector.toString()), () =>
      renderExternalQuery({ rule: entry.rule, seriesName: entry.seriesName, namespace, metricSelector }),
    );
  }

  function objectQuery(entry: CustomEntry, request: CustomMetricByNameRequest): RenderedQuery {
    const { object, metric, metricSelector } = request;
    const { resource, namespace, name } = object;
    const key = memoKey(metric, resource.group, resource.resource, namespace, name, metricSelector.toString());
    return renderedObject.get(key, () =>
      renderCustomQuery({
        rule: entry.rule,
        seriesName: entry.seriesName,
        resource,
        namespace,
        names: [name],
        metricSelector,
      }),
    );
  }

  function customEntry(resource: GroupResource, metric: string): CustomEntry {
    const entry = current.custom.get(customMetricKey(resource, metric));
    if (!entry) {
      throw ApiError.notFound(
        `custom metric "${metric}" for ${formatGroupResource(resource)} is not announced by any Prometheus rule (no matching series in the last ${settings.maxAgeMs / 1000} s)`,
      );
    }
    return entry;
  }

  // For a selector, the PromQL names the selected objects: it is kept while the lister hands out
  // the same (frozen) objects (see KubeClient.listObjects), and the answer while the cache hands
  // out the same samples. Bounded by the objects kept, since PromQL, answer and the body the HTTP
  // layer keeps beside it all grow with them (a few hundred bytes per object). Cleared by a relist.
  const renderedSelection = new LRUCache<string, Selection>({
    max: KEPT_SELECTIONS,
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
    const selection: Selection = { objects, rendered };
    if (Object.isFrozen(objects) && objects.length < KEPT_SELECTION_OBJECTS) renderedSelection.set(key, selection);
    return selection;
  }

  const custom: CustomMetricsProvider = {
    async getMetricByName(request: CustomMetricByNameRequest): Promise<Sample> {
      const { object, metric } = request;
      const entry = customEntry(object.resource, metric);
      const rendered = objectQuery(entry, request);
      const samples = await query(rendered.promql, request);
      const sample = samples.find((s) => s.labels[rendered.objectLabel] === object.name);
      if (!sample) {
        const who = object.namespace === undefined ? object.name : `${object.namespace}/${object.name}`;
        throw ApiError.notFound(
          `prometheus has no data for custom metric "${metric}" of ${formatGroupResource(object.resource)} "${who}" (${entry.rule.id}, query: ${clip(rendered.promql, 300)})`,
        );
      }
      // The cached sample itself: the HTTP layer keeps the body rendered from it.
      return sample;
    },

    async getMetricBySelector(request: CustomMetricBySelectorRequest): Promise<readonly ObjectSample[]> {
      const { resource, namespace, metric } = request;
      const entry = customEntry(resource, metric);
      if (!context.kube) {
        // Not a 503: nothing will come back, and an HPA or a person should not wait for it to.
        throw ApiError.badRequest(
          `object listing unavailable (standalone mode): cannot resolve labelSelector "${request.objectSelector.toString()}" for ${formatGroupResource(resource)} without a Kubernetes API connection; ask for one object by name`,
        );
      }
      const version = entry.rule.resources.kindOf(resource).apiVersion.split('/')[1] ?? 'v1';
      const objects = await context.kube.listObjects(
        { group: resource.group, version, resource: resource.resource },
        namespace,
        request.objectSelector.toString(),
        request.deadline.signal,
      );
      if (objects.length === 0) return [];
      const selection = selectionQuery(entry, request, objects);
      const samples = await query(selection.rendered.promql, request);
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
      for (const sample of answer) Object.freeze(sample);
      selection.samples = samples;
      selection.answer = Object.freeze(answer);
      markCachedEntry(selection.answer);
      return selection.answer;
    },

    listCustomMetrics: () => current.customList,
    servesCustom: (resource, metric) => current.custom.has(customMetricKey(resource, metric)),
  };

  const external: ExternalMetricsProvider = {
    async getExternalMetric(request: ExternalMetricRequest): Promise<readonly ExternalSample[]> {
      const entry = current.external.get(request.metric);
      if (!entry) {
        throw ApiError.notFound(`external metric "${request.metric}" is not announced by any Prometheus externalRule`);
      }
      return query(externalPromql(entry, request), request);
    },
    listExternalMetrics: () => current.externalList,
    servesExternal: (metric) => current.external.has(metric),
  };

  return {
    name: 'prometheus',
    client,
    custom,
    external,
    discovery: () => current,
    async relist() {
      await relist();
    },
    async start() {
      const ok = await relist().catch((error: unknown) => {
        logger.warn({ err: (error as Error).message }, 'first prometheus series discovery failed');
        return false;
      });
      if (ok)
        logger.info(
          { url: client.url, custom: current.customList.length, external: current.externalList.length },
          'prometheus backend ready',
        );
      schedule(ok ? settings.relistIntervalMs : Math.min(settings.relistIntervalMs, RETRY_AFTER_FAILURE_MS));
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      stopping.abort(new Error('prometheus backend closed'));
      client.close();
    },
  };
}

/** The client of the settings; files it cannot read are config errors, named by their flag. */
function clientFor(settings: PrometheusSettings, metrics: PrometheusBackendMetrics): PrometheusClient {
  try {
    return createPrometheusClient({
      ...settings.client,
      observe(endpoint, outcome, seconds) {
        metrics.calls.inc({ endpoint, outcome });
        metrics.callDuration.observe({ endpoint }, seconds);
      },
    });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}
