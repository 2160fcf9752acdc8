import type { GroupResource } from '../../api/group-resource.js';
import { formatGroupResource, sameGroupResource } from '../../api/resources.js';
import type { LabelSelector } from '../../api/selector.js';
import type { KubeClient } from '../../kube/types.js';
import { customMetricKey } from '../provider.js';
import {
  type CustomEntry,
  type Discovery,
  describeCollision,
  type RuleReport,
  type SeriesReport,
} from './announced-metrics.js';
import type { PrometheusClient, PromSample } from './client.js';
import { namespaceLabel, renderCustomQuery, renderExternalQuery } from './query.js';
import type { CompiledRule } from './rules.js';

/**
 * The report behind `hpa-metrics-adapter explain`: what each rule found and made of it, and
 * for one metric the exact PromQL a request runs and what Prometheus answers — the answer to
 * "my metric is missing and I can't tell why".
 */
export type Print = (line?: string) => void;

export interface DiscoveryView {
  /** Show only the series that would be named this metric. */
  metric?: string;
  /** Series lines per rule before the rest is summarised. */
  limit: number;
}

/** Which server each rule queries (several servers, see rule-sources.ts). */
export interface RuleServers {
  client(rule: CompiledRule): PrometheusClient;
  /** `thanos http://…`, with the tenant a rule names; undefined for the single server, where there is nothing to tell. */
  describe(rule: CompiledRule): string | undefined;
}

export function printDiscovery(discovery: Discovery, print: Print, view: DiscoveryView, servers?: RuleServers): void {
  for (const report of discovery.reports) printRule(report, print, view, servers?.describe(report.rule));
  const custom = discovery.customList.map((m) => `${formatGroupResource(m.resource)}/${m.metric}`).sort();
  const external = discovery.externalList.map((m) => m.metric).sort();
  if (discovery.collisions.length > 0) {
    print(`collisions (${discovery.collisions.length}): two rules name one metric, the later is served:`);
    for (const collision of discovery.collisions) print(`  ${describeCollision(collision)}`);
  }
  print(`custom metrics announced (${custom.length}): ${custom.join(', ') || 'none'}`);
  print(`external metrics announced (${external.length}): ${external.join(', ') || 'none'}`);
}

function printRule(report: RuleReport, print: Print, view: DiscoveryView, server: string | undefined): void {
  print(`${report.rule.id}  seriesQuery: ${report.rule.seriesQuery}`);
  if (server !== undefined) print(`  server: ${server}`);
  if (report.error !== undefined) {
    print(`  series query failed: ${report.error}`);
    print();
    return;
  }
  print(`  ${report.seriesFound} series, ${report.series.length} name${report.series.length === 1 ? '' : 's'}`);
  const shown =
    view.metric === undefined
      ? report.series
      : report.series.filter((s) => report.rule.metricName(s.name) === view.metric);
  for (const series of shown.slice(0, view.limit)) print(`  ${describeSeries(series)}`);
  if (shown.length > view.limit) print(`  … and ${shown.length - view.limit} more (--all lists them)`);
  print();
}

function describeSeries(series: SeriesReport): string {
  const head = `${series.name}{${series.labels.join(',')}}`;
  const { outcome } = series;
  switch (outcome.kind) {
    case 'rejected':
    case 'unnamed':
      return `${head}  ✗ ${outcome.reason}`;
    case 'announced': {
      const on =
        outcome.resources.length === 0
          ? 'external metric'
          : `on ${outcome.resources.map(formatGroupResource).join(', ')}`;
      const collided = outcome.collisions.map((c) => `\n      collision: ${describeCollision(c)}`);
      return `${head}  → ${outcome.metric} ${on}${collided.join('')}`;
    }
  }
}

export interface MetricQuestion {
  metric: string;
  external: boolean;
  resource?: GroupResource;
  namespace?: string;
  names?: string[];
  objectSelector?: LabelSelector;
  metricSelector: LabelSelector;
  time: Date;
}

/** Explains one metric; resolves true when a request would get data. */
export async function explainMetric(
  question: MetricQuestion,
  discovery: Discovery,
  servers: RuleServers,
  kube: KubeClient | undefined,
  print: Print,
): Promise<boolean> {
  const serverLine = (rule: CompiledRule) => {
    const server = servers.describe(rule);
    if (server !== undefined) print(`  server:  ${server}`);
  };
  const { metric } = question;
  const externalEntry = discovery.external.get(metric);
  const customEntries = [...discovery.custom.values()].filter((e) => e.info.metric === metric);
  if (question.external || (customEntries.length === 0 && externalEntry)) {
    if (!externalEntry) return missing(metric, 'external', discovery, print);
    const namespace = question.namespace ?? 'default';
    const promql = renderExternalQuery({
      rule: externalEntry.rule,
      seriesName: externalEntry.seriesName,
      namespace,
      metricSelector: question.metricSelector,
    });
    print(`external metric ${metric} in namespace ${namespace}, labelSelector "${question.metricSelector.toString()}"`);
    print(`  rule:    ${externalEntry.rule.id} (series ${externalEntry.seriesName})`);
    serverLine(externalEntry.rule);
    collisionLines(discovery, metric, print);
    return runQuery(promql, question.time, externalEntry.rule, servers.client(externalEntry.rule), print, () => true);
  }
  const entry = pickEntry(customEntries, question.resource);
  if (!entry)
    return missing(metric, question.resource ? formatGroupResource(question.resource) : 'custom', discovery, print);
  const others = customEntries.filter((e) => e !== entry).map((e) => formatGroupResource(e.info.resource));
  const objectLabel = entry.rule.resources.labelFor(entry.info.resource) ?? '';
  const sample = discovery.reports.flatMap((r) => r.series).find((s) => s.name === entry.seriesName)?.sample ?? {};
  const isNamespace = entry.info.resource.resource === 'namespaces' && entry.info.resource.group === '';
  const namespaced = entry.rule.resources.kindOf(entry.info.resource).namespaced && !isNamespace;
  const namespace = namespaced ? (question.namespace ?? sample[namespaceLabel(entry.rule)] ?? 'default') : undefined;
  let names = question.names ?? [];
  if (question.objectSelector && kube) {
    const version = entry.rule.resources.kindOf(entry.info.resource).apiVersion.split('/')[1] ?? 'v1';
    const objects = await kube.listObjects(
      { ...entry.info.resource, version },
      namespace,
      question.objectSelector.toString(),
    );
    names = objects.map((o) => o.name);
    print(`objects matching "${question.objectSelector.toString()}": ${names.join(', ') || 'none'}`);
    if (names.length === 0) return false;
  } else if (question.objectSelector) {
    print(
      '--selector needs a cluster to list objects: pass --kubeconfig (or set $KUBECONFIG), or name objects with --name',
    );
    return false;
  }
  if (names.length === 0) names = [sample[objectLabel] ?? 'example'];
  const rendered = renderCustomQuery({
    rule: entry.rule,
    seriesName: entry.seriesName,
    resource: entry.info.resource,
    namespace,
    names,
    metricSelector: question.metricSelector,
  });
  const where = namespace === undefined ? '' : `${namespace}/`;
  print(
    `custom metric ${metric} for ${formatGroupResource(entry.info.resource)} ${names.map((n) => where + n).join(', ')}`,
  );
  print(`  rule:    ${entry.rule.id} (series ${entry.seriesName}, object label ${rendered.objectLabel})`);
  serverLine(entry.rule);
  collisionLines(discovery, customMetricKey(entry.info.resource, metric), print);
  if (others.length > 0) print(`  also announced for: ${others.join(', ')} (choose with --resource)`);
  return runQuery(rendered.promql, question.time, entry.rule, servers.client(entry.rule), print, (s) =>
    names.includes(s.labels[rendered.objectLabel] ?? ''),
  );
}

/** The rules a metric replaced: the answer to "I changed that rule and nothing happened". */
function collisionLines(discovery: Discovery, key: string, print: Print): void {
  for (const { metric, replaced } of discovery.collisions) {
    if (metric === key) print(`  replaces: ${replaced.rule} (series ${replaced.series}), which names it too`);
  }
}

function pickEntry(entries: CustomEntry[], resource: GroupResource | undefined): CustomEntry | undefined {
  if (resource) return entries.find((e) => sameGroupResource(e.info.resource, resource));
  return entries.find((e) => e.info.resource.resource === 'pods' && e.info.resource.group === '') ?? entries[0];
}

async function runQuery(
  promql: string,
  time: Date,
  rule: CompiledRule,
  client: PrometheusClient,
  print: Print,
  counts: (sample: PromSample) => boolean,
): Promise<boolean> {
  print(`  PromQL:  ${promql}`);
  let samples: PromSample[];
  try {
    samples = (await client.query(promql, time)).samples;
  } catch (error) {
    print(`  result:  error: ${(error as Error).message}`);
    return false;
  }
  if (samples.length === 0) print('  result:  no series (the HPA gets 404 NotFound)');
  let useful = 0;
  for (const sample of samples) {
    const labels = Object.entries(sample.labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    const zeroed = Number.isNaN(sample.value) && rule.nan === 'zero';
    const served = Number.isFinite(sample.value) || zeroed;
    const used = served && counts(sample);
    if (used) useful++;
    const note = !served
      ? Number.isNaN(sample.value)
        ? '  (NaN, the rule has nan: noData: dropped, never served)'
        : '  (not finite: never served; the whole answer counts as a failed read, so the failure policy answers)'
      : !used
        ? '  (not one of the requested objects: ignored)'
        : zeroed
          ? '  (NaN: served as 0, see the rule`s nan)'
          : '';
    print(`  result:  {${labels}} ${sample.value} at ${sample.timestamp.toISOString()}${note}`);
  }
  const infinite = samples.some((s) => !Number.isNaN(s.value) && !Number.isFinite(s.value));
  return useful > 0 && !infinite;
}

function missing(metric: string, kind: string, discovery: Discovery, print: Print): false {
  print(`${kind} metric ${metric} is not announced by any rule.`);
  const near = discovery.reports.flatMap((report) =>
    report.series
      .filter((s) => s.outcome.kind !== 'announced' && report.rule.metricName(s.name) === metric)
      .map(
        (s) =>
          `  ${report.rule.id}: ${s.name} would be named ${metric} but was not used: ${'reason' in s.outcome ? s.outcome.reason : ''}`,
      ),
  );
  if (near.length > 0) for (const line of near) print(line);
  else
    print(
      '  no series any rule found would be named that: check the seriesQuery and name.matches / name.as of your rules, and --metrics-max-age',
    );
  return false;
}
