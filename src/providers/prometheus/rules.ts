import type { GroupResource } from '../../api/group-resource.js';
import type { ResourceInfo, ResourceResolver } from '../../api/resource-table.js';
import { kindFor, parseGroupResource, type ResourceKind, sameGroupResource } from '../../api/resources.js';
import { compileRe2, type Re2Pattern } from '../../lib/re2.js';
import { expandGoTemplate } from './go-regexp.js';
import type { DiscoveryRuleConfig } from './rule-schema.js';
import { compileTemplate, type Template } from './template.js';

/**
 * A prometheus-adapter discovery rule, compiled once: which series it takes (filters and the
 * implicit `name.matches` filter), what each is called in the API (`name.as`), which label
 * names which Kubernetes resource (`resources.overrides`, `resources.template`), and the
 * `metricsQuery` template.
 */
export interface CompiledRule {
  /** `rules[2]` / `externalRules[0]`: how messages and explain name the rule. */
  readonly id: string;
  readonly kind: 'custom' | 'external';
  readonly seriesQuery: string;
  readonly metricsQuery: Template;
  readonly resources: ResourceLabels;
  /** External rules: add `namespace="<ns>"` to every query (resources.namespaced, default true). */
  readonly namespaced: boolean;
  readonly labelValueReplacements: readonly { find: string; replace: string }[];
  /** A NaN result is served as 0 (prometheus-adapter's answer) or as no data for that object. */
  readonly nan: NanReading;
  /** Why the rule drops a series of this name (a filter or name.matches), or undefined when it keeps it. */
  rejects(seriesName: string): string | undefined;
  /** The API metric name of a kept series; '' when `as` expands to nothing. */
  metricName(seriesName: string): string;
}

export type NanReading = 'zero' | 'noData';

/** A rule that cannot compile; `path` leads to the field inside the rule, e.g. ['name', 'matches']. */
export class RuleError extends Error {
  constructor(
    readonly ruleId: string,
    readonly path: readonly (string | number)[],
    readonly detail: string,
  ) {
    const field = path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('');
    super(`prometheus.${ruleId}${field}: ${detail}`);
  }
}

interface SeriesFilter {
  description: string;
  regexp: Re2Pattern;
  positive: boolean;
}

/**
 * The patterns and templates of one config's rules, each distinct text compiled once: rules repeat
 * them (one metricsQuery for every rule, `^(.*)_total$`), and each compiled copy was heap that the
 * collector walked while the loop waited (3,887 copies of one metricsQuery: 8 MiB). Both are
 * shared safely, as their interfaces say. Held only while a config's rules are compiled, so a
 * reload never keeps the patterns of an older config.
 */
export class RuleCompilations {
  private readonly patterns = new Map<string, Re2Pattern>();
  private readonly templates = new Map<string, Template>();

  re2(pattern: string): Re2Pattern {
    return compiledOnce(this.patterns, pattern, compileRe2);
  }

  template(source: string): Template {
    return compiledOnce(this.templates, source, compileTemplate);
  }
}

function compiledOnce<T>(compiled: Map<string, T>, source: string, compile: (source: string) => T): T {
  let found = compiled.get(source);
  if (found === undefined) {
    found = compile(source);
    compiled.set(source, found);
  }
  return found;
}

/**
 * `resolver` names resources as the cluster serves them, for `resources.overrides` and
 * `resources.template`; `compilations` is shared by the rules of one config.
 */
export function compileRule(
  config: DiscoveryRuleConfig,
  kind: 'custom' | 'external',
  index: number,
  resolver: ResourceResolver,
  compilations = new RuleCompilations(),
): CompiledRule {
  const id = `${kind === 'custom' ? 'rules' : 'externalRules'}[${index}]`;
  const attempt = <T>(path: (string | number)[], build: () => T): T => {
    try {
      return build();
    } catch (error) {
      throw new RuleError(id, path, (error as Error).message);
    }
  };

  const filters: SeriesFilter[] = (config.seriesFilters ?? []).map((filter, i) => {
    const positive = filter.is !== undefined && filter.is !== '';
    const pattern = (positive ? filter.is : filter.isNot) ?? '';
    const regexp = attempt(['seriesFilters', i], () => compilations.re2(pattern));
    return {
      description: `seriesFilters[${i}] ${positive ? 'is' : 'isNot'} ${JSON.stringify(pattern)}`,
      regexp,
      positive,
    };
  });
  const matches = config.name?.matches ?? '';
  const nameRegexp = attempt(['name', 'matches'], () => compilations.re2(matches === '' ? '.*' : matches));
  if (matches !== '')
    filters.push({ description: `name.matches ${JSON.stringify(matches)}`, regexp: nameRegexp, positive: true });
  const nameAs = attempt(['name', 'as'], () => defaultNameAs(config.name?.as ?? '', nameRegexp, matches));

  const metricsQuery = attempt(['metricsQuery'], () => compilations.template(config.metricsQuery));
  attempt(['metricsQuery'], () => metricsQuery.execute(sampleQueryData()));
  const resources = attempt(
    ['resources'],
    () => new ResourceLabels(config.resources?.template, config.resources?.overrides ?? {}, resolver),
  );

  return {
    id,
    kind,
    seriesQuery: config.seriesQuery,
    metricsQuery,
    resources,
    namespaced: config.resources?.namespaced ?? true,
    nan: config.nan ?? 'zero',
    labelValueReplacements: (config.labelValueReplacements ?? []).map((r) => ({
      find: r.find ?? '',
      replace: r.replace ?? '',
    })),
    rejects(seriesName) {
      return filters.find((f) => f.regexp.test(seriesName) !== f.positive)?.description;
    },
    metricName(seriesName) {
      const match = nameRegexp.exec(seriesName);
      return match ? expandGoTemplate(nameAs, match) : '';
    },
  };
}

/** `as` defaults to the whole match without capture groups, to the group when there is one. */
function defaultNameAs(as: string, regexp: Re2Pattern, matches: string): string {
  if (as !== '') return as;
  const groups = regexp.groupCount();
  if (groups === 0) return '$0';
  if (groups === 1) return '$1';
  throw new Error(
    `name.matches ${JSON.stringify(matches)} has ${groups} capture groups: say which to use with name.as`,
  );
}

function sampleQueryData() {
  return {
    Series: 'series',
    LabelMatchers: 'label="value"',
    LabelValuesByName: new Map([['label', 'value']]),
    GroupBy: 'label',
    GroupBySlice: ['label'],
  };
}

export const NAMESPACES: GroupResource = { group: '', resource: 'namespaces' };

export interface LabelResource {
  label: string;
  resource: GroupResource;
}

interface ResolvedLabels {
  /** The resolver's list these maps were built from: a new list means the cluster's resources changed. */
  table: readonly ResourceInfo[];
  overrides: Map<string, GroupResource>;
  templated: Map<string, GroupResource>;
}

/**
 * The two-way map between Prometheus label names and Kubernetes resources of one rule, resolved
 * as prometheus-adapter resolves them through the cluster's RESTMapper: an override names a
 * resource by plural, singular or kind (`pod`, `rollouts` in group `argoproj.io`), and a
 * `<<.Resource>>` template names every resource the cluster serves by its singular name, with
 * `<<.Group>>` its group with `.` and `-` as `_`. So `pod`, `secret`, `lease`, `job` and, in a
 * cluster with Argo Rollouts, `rollout` name resources, and `instance` or `code` do not. The maps
 * are rebuilt when the cluster's resources change (a CRD installed after start resolves then).
 */
export class ResourceLabels {
  private readonly overrideNames: readonly (readonly [label: string, name: string])[];
  private readonly template: Template | undefined;
  private resolved: ResolvedLabels | undefined;

  constructor(
    template: string | undefined,
    overrides: Readonly<Record<string, { group?: string; resource: string }>>,
    private readonly resolver: ResourceResolver,
  ) {
    this.overrideNames = Object.entries(overrides).map(([label, target]) => {
      const group = target.group ?? '';
      return [label, group === '' ? target.resource : `${target.resource}.${group}`] as const;
    });
    if (template !== undefined && template !== '') this.template = compileTemplate(template);
    this.current();
  }

  /** The resources a series' labels name. */
  resourcesFor(labelNames: Iterable<string>): LabelResource[] {
    const { overrides, templated } = this.current();
    const resources: LabelResource[] = [];
    for (const label of labelNames) {
      const resource = overrides.get(label) ?? templated.get(label);
      if (resource) resources.push({ label, resource });
    }
    return resources;
  }

  /** The label naming objects of this resource (overrides first), or undefined when the rule cannot name it. */
  labelFor(resource: GroupResource): string | undefined {
    for (const [label, known] of this.current().overrides) {
      if (sameGroupResource(known, resource)) return label;
    }
    if (!this.template) return undefined;
    const label = this.render(resource);
    return label === '' ? undefined : label;
  }

  /** Kind, apiVersion and scope of a resource, as the cluster serves it. */
  kindOf(resource: GroupResource): ResourceKind {
    return kindFor(resource, this.resolver);
  }

  private current(): ResolvedLabels {
    const table = this.resolver.list();
    if (this.resolved?.table === table) return this.resolved;
    const overrides = new Map<string, GroupResource>();
    for (const [label, name] of this.overrideNames) overrides.set(label, parseGroupResource(name, this.resolver));
    const templated = new Map<string, GroupResource>();
    if (this.template) {
      for (const info of table) {
        const label = this.render(info);
        if (label !== '' && !templated.has(label)) templated.set(label, { group: info.group, resource: info.resource });
      }
    }
    this.resolved = { table, overrides, templated };
    return this.resolved;
  }

  private render(resource: GroupResource): string {
    const singular = this.resolver.find(resource)?.singular ?? kindFor(resource, this.resolver).kind.toLowerCase();
    return (this.template as Template).execute({ Group: resource.group.replace(/[.-]/g, '_'), Resource: singular });
  }
}
