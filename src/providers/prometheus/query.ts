import { ApiError } from '../../api/errors.js';
import type { GroupResource } from '../../api/group-resource.js';
import { formatGroupResource } from '../../api/resources.js';
import type { LabelSelector, Requirement } from '../../api/selector.js';
import { type CompiledRule, NAMESPACES } from './rules.js';
import { TemplateError } from './template.js';

/**
 * Rendering a rule's `metricsQuery` for one request, with the template fields prometheus-adapter
 * fills: .LabelMatchers (metric selector, then namespace, then the objects), .LabelValuesByName,
 * .GroupBy / .GroupBySlice (the object label for custom metrics; empty for external ones).
 */

/** What a custom-metric query needs; `names` are sorted so equal requests render equal PromQL. */
export interface CustomQueryInput {
  rule: CompiledRule;
  seriesName: string;
  resource: GroupResource;
  /** The namespace of namespaced objects; undefined for root-scoped ones and namespaces themselves. */
  namespace: string | undefined;
  names: readonly string[];
  metricSelector: LabelSelector;
}

export interface RenderedQuery {
  promql: string;
  /** The label whose value names the object each result series describes (custom metrics). */
  objectLabel: string;
}

interface Matcher {
  label: string;
  expression: string;
  values: string;
}

export function renderCustomQuery(input: CustomQueryInput): RenderedQuery {
  const { rule, resource } = input;
  const objectLabel = rule.resources.labelFor(resource);
  if (objectLabel === undefined) {
    throw ApiError.notFound(
      `${rule.id} has no label for ${formatGroupResource(resource)}: add it to resources.overrides or resources.template`,
    );
  }
  const matchers = selectorMatchers(input.metricSelector, rule);
  if (input.namespace !== undefined) matchers.push(equals(namespaceLabel(rule), input.namespace));
  const names = [...new Set(input.names)].sort();
  const joined = names.join('|');
  matchers.push({
    label: objectLabel,
    expression: `${objectLabel}${names.length > 1 ? '=~' : '='}${quote(joined)}`,
    values: joined,
  });
  const promql = execute(rule, {
    Series: input.seriesName,
    LabelMatchers: matchers.map((m) => m.expression).join(','),
    LabelValuesByName: valuesByName(matchers),
    GroupBy: objectLabel,
    GroupBySlice: [objectLabel],
  });
  return { promql, objectLabel };
}

export interface ExternalQueryInput {
  rule: CompiledRule;
  seriesName: string;
  namespace: string;
  metricSelector: LabelSelector;
}

export function renderExternalQuery(input: ExternalQueryInput): string {
  const { rule } = input;
  const matchers = selectorMatchers(input.metricSelector, rule);
  if (rule.namespaced) matchers.push(equals(namespaceLabel(rule), input.namespace));
  const values = valuesByName(matchers);
  for (const { find, replace } of rule.labelValueReplacements) {
    if (find === '') continue;
    for (const [label, value] of values) values.set(label, value.replaceAll(find, replace));
  }
  return execute(rule, {
    Series: input.seriesName,
    LabelMatchers: matchers.map((m) => m.expression).join(','),
    LabelValuesByName: values,
    GroupBy: '',
    GroupBySlice: [],
  });
}

/** The label holding the namespace: the rule's own mapping, else `namespace` as every exporter writes it. */
export function namespaceLabel(rule: CompiledRule): string {
  return rule.resources.labelFor(NAMESPACES) ?? 'namespace';
}

/**
 * A Kubernetes selector as PromQL matchers, prometheus-adapter's way: `=`, `!=`, `=~` for `in`,
 * `!~` for `notin` (values joined by `|`), `!=""` for exists and `=""` for does-not-exist.
 */
export function selectorMatchers(selector: LabelSelector, rule: CompiledRule): Matcher[] {
  return selector.requirements.map((requirement) => requirementMatcher(requirement, rule));
}

function requirementMatcher({ key, operator, values }: Requirement, rule: CompiledRule): Matcher {
  const joined = values.join('|');
  const build = (op: string, value: string): Matcher => ({
    label: key,
    expression: `${key}${op}${quote(value)}`,
    values: joined,
  });
  switch (operator) {
    case 'Equals':
      return build('=', joined);
    case 'NotEquals':
      return build('!=', joined);
    case 'In':
      return build('=~', joined);
    case 'NotIn':
      return build('!~', joined);
    case 'Exists':
      return build('!=', '');
    case 'DoesNotExist':
      return build('=', '');
    default:
      throw ApiError.badRequest(
        `label selector requirement "${key} ${operator === 'GreaterThan' ? '>' : '<'} ${joined}" cannot be turned into a Prometheus label matcher (${rule.id}): use =, !=, in, notin or exists`,
      );
  }
}

function equals(label: string, value: string): Matcher {
  return { label, expression: `${label}=${quote(value)}`, values: value };
}

function valuesByName(matchers: readonly Matcher[]): Map<string, string> {
  return new Map(matchers.map((m) => [m.label, m.values]));
}

/** A PromQL string literal; Go's %q and JSON agree on everything a label value can hold. */
function quote(value: string): string {
  return JSON.stringify(value);
}

function execute(rule: CompiledRule, data: Parameters<CompiledRule['metricsQuery']['execute']>[0]): string {
  let promql: string;
  try {
    promql = rule.metricsQuery.execute(data);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    throw ApiError.badRequest(`${rule.id}.metricsQuery cannot be rendered for this request: ${error.message}`);
  }
  if (promql.trim() === '') throw ApiError.badRequest(`${rule.id}.metricsQuery rendered an empty query`);
  return promql;
}
