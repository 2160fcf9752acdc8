import pMap from 'p-map';
import type { GroupResource } from '../../api/group-resource.js';
import { loopTurns } from '../../lib/turn-slicer.js';
import { type CustomMetricInfo, customMetricKey, type ExternalMetricInfo } from '../provider.js';
import type { CompiledRule } from './rules.js';

/**
 * Turning the series each rule's `seriesQuery` found into the metrics the API announces, and a
 * per-rule account of every series — kept, renamed, filtered out or replaced — that the explain
 * command prints and debug logs carry, since "why is my metric missing" is the question users ask.
 */
export type Series = Readonly<Record<string, string>>;

export interface CustomEntry {
  info: CustomMetricInfo;
  rule: CompiledRule;
  seriesName: string;
}

export interface ExternalEntry {
  info: ExternalMetricInfo;
  rule: CompiledRule;
  seriesName: string;
}

export type SeriesOutcome =
  | { kind: 'rejected'; reason: string }
  | { kind: 'unnamed'; reason: string }
  | {
      kind: 'announced';
      metric: string;
      resources: GroupResource[];
      /** The collisions this series is in, as the replaced or the served side. */
      collisions: Collision[];
    };

/**
 * Two series named one metric for one resource (custom) or one external metric name: the later
 * is served, as prometheus-adapter's registry keeps the last it was given (rules in config order,
 * series in name order).
 */
export interface Collision {
  /** `pods/http_requests`, `deployments.apps/queue_length`, or the external metric's name. */
  metric: string;
  served: { rule: string; series: string };
  replaced: { rule: string; series: string };
}

export interface SeriesReport {
  name: string;
  /** Label names across the series of this name. */
  labels: string[];
  /** The first series of this name, whose label values serve as a sample request. */
  sample: Series;
  outcome: SeriesOutcome;
}

export interface RuleReport {
  rule: CompiledRule;
  /** Set when the seriesQuery failed and no earlier answer was kept. */
  error?: string;
  seriesFound: number;
  series: SeriesReport[];
}

export interface Discovery {
  custom: ReadonlyMap<string, CustomEntry>;
  external: ReadonlyMap<string, ExternalEntry>;
  customList: readonly CustomMetricInfo[];
  externalList: readonly ExternalMetricInfo[];
  reports: readonly RuleReport[];
  collisions: readonly Collision[];
}

export const EMPTY_DISCOVERY: Discovery = {
  custom: new Map(),
  external: new Map(),
  customList: [],
  externalList: [],
  reports: [],
  collisions: [],
};

/** Names the metrics API accepts in a request path; announcing any other could never be asked for. */
const API_METRIC_NAME = /^[A-Za-z0-9_:]([-A-Za-z0-9_.:]*[A-Za-z0-9_:])?$/;

/**
 * Rules are applied in config order, series in name order; when two name the same metric the
 * later one is served and the pair is recorded as a collision (see Collision).
 * A custom metric is announced namespaced as its resource is served by the cluster (the rule's
 * resolver): pods with only a `pod` label are namespaced, nodes and namespaces are not, as in
 * prometheus-adapter, which announces a metric root-scoped only for namespaces, nodes and
 * persistentvolumes.
 * `keyOf` says under which key a rule's series are found (several servers: see rule-sources.ts).
 */
export function buildDiscovery(
  rules: readonly CompiledRule[],
  seriesByQuery: ReadonlyMap<string, readonly Series[] | Error>,
  keyOf: (rule: CompiledRule) => string = (rule) => rule.seriesQuery,
): Discovery {
  const custom = new Map<string, CustomEntry>();
  const external = new Map<string, ExternalEntry>();
  const reports: RuleReport[] = [];
  const collisions: Collision[] = [];
  // The report line behind each entry, to mark it when a later series replaces it.
  const lineOf = new Map<CustomEntry | ExternalEntry, SeriesReport>();

  const announce = <E extends CustomEntry | ExternalEntry>(
    entries: Map<string, E>,
    key: string,
    entry: E,
    line: SeriesReport,
  ): void => {
    const earlier = entries.get(key);
    entries.set(key, entry);
    lineOf.set(entry, line);
    if (!earlier || (earlier.rule === entry.rule && earlier.seriesName === entry.seriesName)) return;
    const collision: Collision = {
      metric: key,
      served: { rule: entry.rule.id, series: entry.seriesName },
      replaced: { rule: earlier.rule.id, series: earlier.seriesName },
    };
    collisions.push(collision);
    for (const side of new Set([lineOf.get(earlier), line])) {
      if (side?.outcome.kind === 'announced') side.outcome.collisions.push(collision);
    }
  };

  for (const rule of rules) {
    const found = seriesByQuery.get(keyOf(rule));
    if (found === undefined || found instanceof Error) {
      reports.push({ rule, error: found?.message ?? 'series query not run', seriesFound: 0, series: [] });
      continue;
    }
    const series: SeriesReport[] = [];
    for (const [name, group] of groupByName(found)) {
      const labels = [...new Set(group.flatMap((s) => Object.keys(s)))].filter((l) => l !== '__name__').sort();
      const sample = group[0] ?? {};
      const report = (outcome: SeriesOutcome): SeriesReport => {
        const line = { name, labels, sample, outcome };
        series.push(line);
        return line;
      };
      const rejected = rule.rejects(name);
      if (rejected !== undefined) {
        report({ kind: 'rejected', reason: `dropped by ${rejected}` });
        continue;
      }
      const metric = rule.metricName(name);
      if (metric.length > 253 || !API_METRIC_NAME.test(metric)) {
        report({
          kind: 'unnamed',
          reason: `name.as gives ${JSON.stringify(metric)}, which is not a usable metric name`,
        });
        continue;
      }
      if (rule.kind === 'external') {
        const line = report({ kind: 'announced', metric, resources: [], collisions: [] });
        announce(external, metric, { info: { metric }, rule, seriesName: name }, line);
        continue;
      }
      const resources = rule.resources.resourcesFor(labels);
      if (resources.length === 0) {
        report({
          kind: 'unnamed',
          reason: 'no label names a Kubernetes resource (see resources.overrides / resources.template)',
        });
        continue;
      }
      const line = report({ kind: 'announced', metric, resources: resources.map((r) => r.resource), collisions: [] });
      for (const { resource } of resources) {
        const info = { resource, metric, namespaced: rule.resources.kindOf(resource).namespaced };
        announce(custom, customMetricKey(resource, metric), { info, rule, seriesName: name }, line);
      }
    }
    reports.push({ rule, seriesFound: found.length, series });
  }
  return {
    custom,
    external,
    customList: [...custom.values()].map((e) => e.info),
    externalList: [...external.values()].map((e) => e.info),
    reports,
    collisions,
  };
}

/**
 * `next` with `previous`'s lists where they announce the same metrics in the same order: the
 * provider contract (src/providers/provider.ts) hands out the same array while what it announces is
 * unchanged, and discovery documents are rendered again only for a new one.
 */
export function keepingUnchangedLists(previous: Discovery, next: Discovery): Discovery {
  const sameCustom = sameItems(
    previous.customList,
    next.customList,
    (a, b) =>
      a.metric === b.metric &&
      a.namespaced === b.namespaced &&
      a.resource.group === b.resource.group &&
      a.resource.resource === b.resource.resource,
  );
  const sameExternal = sameItems(previous.externalList, next.externalList, (a, b) => a.metric === b.metric);
  if (!sameCustom && !sameExternal) return next;
  return {
    ...next,
    customList: sameCustom ? previous.customList : next.customList,
    externalList: sameExternal ? previous.externalList : next.externalList,
  };
}

function sameItems<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((x, i) => same(x, b[i] as T));
}

/** How a collision reads in the log and in explain. */
export function describeCollision({ metric, served, replaced }: Collision): string {
  return `${metric}: ${served.rule} (series ${served.series}) is served, replacing ${replaced.rule} (series ${replaced.series})`;
}

function groupByName(series: readonly Series[]): Map<string, Series[]> {
  const groups = new Map<string, Series[]>();
  for (const s of series) {
    const name = s.__name__;
    if (name === undefined) continue;
    const group = groups.get(name);
    if (group) group.push(s);
    else groups.set(name, [s]);
  }
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The /api/v1/series calls one relist of one server has in flight. */
const SERIES_QUERIES_AT_ONCE = 16;

/**
 * Runs each distinct seriesQuery once against /api/v1/series; a failed query yields its Error.
 * `slice` gives the event loop back before each call (default: the process's turn slicer).
 */
export async function listSeries(
  client: { series(match: string, start: Date, end: Date, signal?: AbortSignal): Promise<Series[]> },
  rules: readonly CompiledRule[],
  window: { start: Date; end: Date },
  signal?: AbortSignal,
  slice: () => Promise<void> | undefined = () => loopTurns.slice(),
): Promise<Map<string, Series[] | Error>> {
  const queries = [...new Set(rules.map((r) => r.seriesQuery))];
  // A few at a time: thousands of rules started as many requests in one turn of the event loop
  // (seconds of it on a busy node, /livez waiting) and as many concurrent calls on Prometheus.
  // And a turn slice at a time: a server refusing connections failed the calls in flight together,
  // and each failure's next call started in the same turn (100-380 ms of it for 3,887 rules).
  const answers = await pMap(
    queries,
    async (query) => {
      await slice();
      return client.series(query, window.start, window.end, signal).then(
        (series): Series[] | Error => series,
        (error: unknown): Series[] | Error => (error instanceof Error ? error : new Error(String(error))),
      );
    },
    { concurrency: SERIES_QUERIES_AT_ONCE },
  );
  return new Map(queries.map((query, i) => [query, answers[i] as Series[] | Error]));
}
