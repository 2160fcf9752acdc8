import { ApiError } from '../api/errors.js';
import type { GroupResource } from '../api/group-resource.js';
import type { ResourceResolver } from '../api/resource-table.js';
import type { ResourceRuleConfig, ResourceRulesConfig } from '../providers/prometheus/resource-rule-schema.js';
import { NAMESPACES, ResourceLabels } from '../providers/prometheus/rules.js';
import { compileTemplate, type Template, TemplateError } from '../providers/prometheus/template.js';
import { ConfigError } from '../schema/errors.js';

export const PODS: GroupResource = { group: '', resource: 'pods' };
export const NODES: GroupResource = { group: '', resource: 'nodes' };

/** One of `cpu` and `memory`, compiled: its two templates and the labels naming each object. */
export interface ResourceQuery {
  /** `resourceRules.cpu`: how messages name it. */
  readonly field: string;
  readonly containerQuery: Template;
  readonly nodeQuery: Template;
  readonly containerLabel: string;
  readonly podLabel: string;
  readonly namespaceLabel: string;
  readonly nodeLabel: string;
}

export interface CompiledResourceRules {
  readonly cpu: ResourceQuery;
  readonly memory: ResourceQuery;
  readonly windowMs: number;
}

/** Which objects one query is for: rendered into .LabelMatchers and .GroupBy. */
export type PodScope = { namespace: string; name?: string } | { namespace?: undefined };
export type NodeScope = { name?: string };

/** Compiles `resourceRules` once; a template or label mapping that cannot work is a ConfigError naming its field. */
export function compileResourceRules(
  config: ResourceRulesConfig,
  field: string,
  resolver: ResourceResolver,
): CompiledResourceRules {
  return {
    cpu: compileQuery(config.cpu, `${field}.cpu`, resolver),
    memory: compileQuery(config.memory, `${field}.memory`, resolver),
    windowMs: config.window,
  };
}

function compileQuery(config: ResourceRuleConfig, field: string, resolver: ResourceResolver): ResourceQuery {
  const compile = (key: 'containerQuery' | 'nodeQuery') => {
    try {
      const template = compileTemplate(config[key]);
      template.execute(queryData([{ label: 'label', op: '=', value: 'value' }], ['label']));
      return template;
    } catch (error) {
      throw new ConfigError(`field ${field}.${key}: ${(error as Error).message}`);
    }
  };
  let labels: ResourceLabels;
  try {
    labels = new ResourceLabels(config.resources.template, config.resources.overrides ?? {}, resolver);
  } catch (error) {
    throw new ConfigError(`field ${field}.resources: ${(error as Error).message}`);
  }
  const labelOf = (resource: GroupResource, what: string) => {
    const label = labels.labelFor(resource);
    if (label === undefined) {
      throw new ConfigError(
        `field ${field}.resources: no label names ${what}: add one to overrides (e.g. ${what === 'nodes' ? 'node' : 'pod'}: {resource: ${what === 'nodes' ? 'node' : 'pod'}}) or use a template`,
      );
    }
    return label;
  };
  return {
    field,
    containerQuery: compile('containerQuery'),
    nodeQuery: compile('nodeQuery'),
    containerLabel: config.containerLabel,
    podLabel: labelOf(PODS, 'pods'),
    namespaceLabel: labels.labelFor(NAMESPACES) ?? 'namespace',
    nodeLabel: labelOf(NODES, 'nodes'),
  };
}

interface Matcher {
  label: string;
  op: '=' | '!=';
  value: string;
}

/**
 * The container query for pods of one namespace (`namespace="ns"`), one pod (and `pod="name"`)
 * or every namespace (`namespace!=""`, and the namespace label joins .GroupBy so pods of the same
 * name in two namespaces stay apart). prometheus-adapter names the pods (`pod=~"a|b|…"`), one query
 * per namespace; naming only the namespace keeps the query the same while pods come and go, so
 * its cached answer serves every selector and pod of that namespace.
 */
export function renderContainerQuery(query: ResourceQuery, scope: PodScope): string {
  const matchers: Matcher[] = [];
  const groupBy = [query.podLabel, query.containerLabel];
  if (scope.namespace === undefined) {
    matchers.push({ label: query.namespaceLabel, op: '!=', value: '' });
    groupBy.push(query.namespaceLabel);
  } else {
    matchers.push({ label: query.namespaceLabel, op: '=', value: scope.namespace });
    if (scope.name !== undefined) matchers.push({ label: query.podLabel, op: '=', value: scope.name });
  }
  return render(query, 'containerQuery', matchers, groupBy);
}

/** The node query for one node (`node="name"`) or every node (`node!=""`). */
export function renderNodeQuery(query: ResourceQuery, scope: NodeScope): string {
  const matcher: Matcher =
    scope.name === undefined
      ? { label: query.nodeLabel, op: '!=', value: '' }
      : { label: query.nodeLabel, op: '=', value: scope.name };
  return render(query, 'nodeQuery', [matcher], [query.nodeLabel]);
}

function render(
  query: ResourceQuery,
  key: 'containerQuery' | 'nodeQuery',
  matchers: readonly Matcher[],
  groupBy: readonly string[],
): string {
  let promql: string;
  try {
    promql = query[key].execute(queryData(matchers, groupBy));
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    throw ApiError.badRequest(`${query.field}.${key} cannot be rendered for this request: ${error.message}`);
  }
  if (promql.trim() === '') throw ApiError.badRequest(`${query.field}.${key} rendered an empty query`);
  return promql;
}

/** The fields prometheus-adapter's resource provider fills; .Series is always empty for resource rules. */
function queryData(matchers: readonly Matcher[], groupBy: readonly string[]) {
  return {
    Series: '',
    LabelMatchers: matchers.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`).join(','),
    LabelValuesByName: new Map(matchers.map((m) => [m.label, m.value])),
    GroupBy: groupBy.join(','),
    GroupBySlice: [...groupBy],
  };
}
