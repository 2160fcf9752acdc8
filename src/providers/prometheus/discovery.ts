import type { GroupResource } from '../../api/resources.js';
import { type CustomMetricInfo, customMetricKey, type ExternalMetricInfo } from '../provider.js';
import type { CompiledRule } from './rules.js';

/**
 * Turning the series each rule's `seriesQuery` found into the metrics the API announces, and a
 * per-rule account of every series — kept, renamed, filtered out or shadowed — that the explain
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
  | { kind: 'announced'; metric: string; resources: GroupResource[]; shadowed: string[] };

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
}

export const EMPTY_DISCOVERY: Discovery = {
  custom: new Map(),
  external: new Map(),
  customList: [],
  externalList: [],
  reports: [],
};

/** Names the metrics API accepts in a request path; announcing any other could never be asked for. */
const API_METRIC_NAME = /^[A-Za-z0-9_:]([-A-Za-z0-9_.:]*[A-Za-z0-9_:])?$/;

/**
 * Rules are applied in config order; a metric announced by an earlier rule shadows later ones.
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
      const report = (outcome: SeriesOutcome) => series.push({ name, labels, sample, outcome });
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
        const shadowed = external.has(metric) ? [metric] : [];
        if (!external.has(metric)) external.set(metric, { info: { metric }, rule, seriesName: name });
        report({ kind: 'announced', metric, resources: [], shadowed });
        continue;
      }
      const { resources, namespaced } = rule.resources.resourcesFor(labels);
      if (resources.length === 0) {
        report({
          kind: 'unnamed',
          reason: 'no label names a Kubernetes resource (see resources.overrides / resources.template)',
        });
        continue;
      }
      const shadowed: string[] = [];
      for (const { resource } of resources) {
        const key = customMetricKey(resource, metric);
        if (custom.has(key)) {
          shadowed.push(key);
          continue;
        }
        const info = {
          resource,
          metric,
          namespaced: namespaced && rule.resources.kindOf(resource).namespaced && resource.resource !== 'namespaces',
        };
        custom.set(key, { info, rule, seriesName: name });
      }
      report({ kind: 'announced', metric, resources: resources.map((r) => r.resource), shadowed });
    }
    reports.push({ rule, seriesFound: found.length, series });
  }
  return {
    custom,
    external,
    customList: [...custom.values()].map((e) => e.info),
    externalList: [...external.values()].map((e) => e.info),
    reports,
  };
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

/** Runs each distinct seriesQuery once against /api/v1/series; a failed query yields its Error. */
export async function listSeries(
  client: { series(match: string, start: Date, end: Date, signal?: AbortSignal): Promise<Series[]> },
  rules: readonly CompiledRule[],
  window: { start: Date; end: Date },
  signal?: AbortSignal,
): Promise<Map<string, Series[] | Error>> {
  const queries = [...new Set(rules.map((r) => r.seriesQuery))];
  const answers = await Promise.all(
    queries.map((query) =>
      client.series(query, window.start, window.end, signal).then(
        (series): Series[] | Error => series,
        (error: unknown): Series[] | Error => (error instanceof Error ? error : new Error(String(error))),
      ),
    ),
  );
  return new Map(queries.map((query, i) => [query, answers[i] as Series[] | Error]));
}
