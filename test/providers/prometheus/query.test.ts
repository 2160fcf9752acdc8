import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_RESOURCES } from '../../../src/api/builtin-resources.js';
import { ApiError } from '../../../src/api/errors.js';
import { parseSelector } from '../../../src/api/selector.js';
import { renderCustomQuery, renderExternalQuery } from '../../../src/providers/prometheus/query.js';
import { compileRule } from '../../../src/providers/prometheus/rules.js';

const PODS = { group: '', resource: 'pods' };
const everything = parseSelector('');

const podRule = compileRule(
  {
    seriesQuery: '{__name__=~"^http_.*",namespace!="",pod!=""}',
    resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } },
    metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)',
  },
  'custom',
  0,
  BUILTIN_RESOURCES,
);

function external(
  metricsQuery: string,
  resources?: { namespaced?: boolean; overrides?: Record<string, { resource: string }> },
) {
  return compileRule({ seriesQuery: 'queue_depth', metricsQuery, resources }, 'external', 0, BUILTIN_RESOURCES);
}

describe('custom metric queries', () => {
  it('asks for one object with =, in its namespace, grouped by the object label', () => {
    const rendered = renderCustomQuery({
      rule: podRule,
      seriesName: 'http_requests_total',
      resource: PODS,
      namespace: 'default',
      names: ['web-1'],
      metricSelector: everything,
    });
    assert.equal(rendered.promql, 'sum(rate(http_requests_total{namespace="default",pod="web-1"}[2m])) by (pod)');
    assert.equal(rendered.objectLabel, 'pod');
  });

  it('asks for many objects in one query with =~ and sorted, de-duplicated names', () => {
    const { promql } = renderCustomQuery({
      rule: podRule,
      seriesName: 'http_requests_total',
      resource: PODS,
      namespace: 'default',
      names: ['web-3', 'web-1', 'web-2', 'web-1'],
      metricSelector: everything,
    });
    assert.equal(promql, 'sum(rate(http_requests_total{namespace="default",pod=~"web-1|web-2|web-3"}[2m])) by (pod)');
  });

  it('puts metricLabelSelector matchers first, as prometheus-adapter does', () => {
    const { promql } = renderCustomQuery({
      rule: podRule,
      seriesName: 'http_requests_total',
      resource: PODS,
      namespace: 'default',
      names: ['web-1'],
      metricSelector: parseSelector('verb=GET,code!=500'),
    });
    assert.equal(
      promql,
      'sum(rate(http_requests_total{code!="500",verb="GET",namespace="default",pod="web-1"}[2m])) by (pod)',
    );
  });

  it('queries a namespace by its own label and no extra namespace matcher', () => {
    const { promql } = renderCustomQuery({
      rule: podRule,
      seriesName: 'http_requests_total',
      resource: { group: '', resource: 'namespaces' },
      namespace: undefined,
      names: ['team-a'],
      metricSelector: everything,
    });
    assert.equal(promql, 'sum(rate(http_requests_total{namespace="team-a"}[2m])) by (namespace)');
  });

  it('fills LabelValuesByName and GroupBySlice for templates that build their own matchers', () => {
    const rule = compileRule(
      {
        seriesQuery: 'x',
        resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } },
        metricsQuery:
          'x{pod=~"<<index .LabelValuesByName "pod">>",ns="<<.LabelValuesByName.namespace>>"} by (<<range $i, $l := .GroupBySlice>><<$l>><<end>>)',
      },
      'custom',
      0,
      BUILTIN_RESOURCES,
    );
    const { promql } = renderCustomQuery({
      rule,
      seriesName: 'x',
      resource: PODS,
      namespace: 'prod',
      names: ['a', 'b'],
      metricSelector: everything,
    });
    assert.equal(promql, 'x{pod=~"a|b",ns="prod"} by (pod)');
  });

  it('answers NotFound when the rule has no label for the resource', () => {
    assert.throws(
      () =>
        renderCustomQuery({
          rule: podRule,
          seriesName: 'x',
          resource: { group: '', resource: 'services' },
          namespace: 'default',
          names: ['a'],
          metricSelector: everything,
        }),
      (error: unknown) =>
        error instanceof ApiError &&
        error.reason === 'NotFound' &&
        /rules\[0\] has no label for services/.test(error.message),
    );
  });
});

describe('external metric queries', () => {
  const base = { seriesName: 'queue_depth', namespace: 'team-a' };

  it('adds namespace="<ns>" and turns the selector into matchers: =, !=, =~, !~, exists, !exists', () => {
    const promql = renderExternalQuery({
      ...base,
      rule: external('sum(<<.Series>>{<<.LabelMatchers>>})'),
      metricSelector: parseSelector('queue=jobs,env!=dev,tier in (a,b),zone notin (x),owner,!canary'),
    });
    assert.equal(
      promql,
      'sum(queue_depth{canary="",env!="dev",owner!="",queue="jobs",tier=~"a|b",zone!~"x",namespace="team-a"})',
    );
  });

  it('joins several in and notin values with | into one regular expression', () => {
    const promql = renderExternalQuery({
      ...base,
      rule: external('<<.LabelMatchers>>'),
      metricSelector: parseSelector('tier in (a,b,c),zone notin (x,y)'),
    });
    assert.equal(promql, 'tier=~"a|b|c",zone!~"x|y",namespace="team-a"');
  });

  it('leaves the namespace out with resources.namespaced: false', () => {
    const promql = renderExternalQuery({
      ...base,
      rule: external('sum(<<.Series>>{<<.LabelMatchers>>})', { namespaced: false }),
      metricSelector: parseSelector('namespace=queues'),
    });
    assert.equal(promql, 'sum(queue_depth{namespace="queues"})');
  });

  it('uses the rule`s namespace label when an override names it', () => {
    const promql = renderExternalQuery({
      ...base,
      rule: external('<<.LabelMatchers>>', { overrides: { exported_namespace: { resource: 'namespace' } } }),
      metricSelector: everything,
    });
    assert.equal(promql, 'exported_namespace="team-a"');
  });

  it('gives empty GroupBy and GroupBySlice, and LabelValuesByName joined by |', () => {
    const promql = renderExternalQuery({
      ...base,
      rule: external('[<<.GroupBy>>] <<.GroupBySlice>> <<.LabelValuesByName>>'),
      metricSelector: parseSelector('tier in (a,b)'),
    });
    assert.equal(promql, '[] [] map[namespace:team-a tier:a|b]');
  });

  it('applies labelValueReplacements to LabelValuesByName', () => {
    const rule = compileRule(
      {
        seriesQuery: 'q',
        metricsQuery: 'q{topic="<<index .LabelValuesByName "topic">>"}',
        resources: { namespaced: false },
        labelValueReplacements: [{ find: '_', replace: '#' }],
      },
      'external',
      0,
      BUILTIN_RESOURCES,
    );
    assert.equal(renderExternalQuery({ ...base, rule, metricSelector: parseSelector('topic=a_b') }), 'q{topic="a#b"}');
  });

  it('refuses > and < selectors with a BadRequest naming the requirement', () => {
    assert.throws(
      () =>
        renderExternalQuery({ ...base, rule: external('<<.LabelMatchers>>'), metricSelector: parseSelector('size>5') }),
      (error: unknown) =>
        error instanceof ApiError && error.reason === 'BadRequest' && /"size > 5"/.test(error.message),
    );
  });

  it('answers BadRequest when the template fails for this request', () => {
    assert.throws(
      () =>
        renderExternalQuery({
          ...base,
          rule: external('<<index .GroupBySlice 0>>'),
          metricSelector: everything,
        }),
      (error: unknown) =>
        error instanceof ApiError &&
        error.reason === 'BadRequest' &&
        /externalRules\[0\]\.metricsQuery/.test(error.message),
    );
  });
});
