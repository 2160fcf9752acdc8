import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_RESOURCES } from '../../../src/api/builtin-resources.js';
import { compileRe2 } from '../../../src/lib/re2.js';
import { compileRules } from '../../../src/providers/prometheus/backend.js';
import { expandGoTemplate } from '../../../src/providers/prometheus/go-regexp.js';
import type { DiscoveryRuleConfig } from '../../../src/providers/prometheus/rule-schema.js';
import { compileRule, RuleError } from '../../../src/providers/prometheus/rules.js';

const QUERY = 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)';

function rule(fields: Partial<DiscoveryRuleConfig>, kind: 'custom' | 'external' = 'custom') {
  return compileRule({ seriesQuery: '{__name__=~".+"}', metricsQuery: QUERY, ...fields }, kind, 0, BUILTIN_RESOURCES);
}

function expand(pattern: string, as: string, input: string): string {
  const match = compileRe2(pattern).exec(input);
  assert.ok(match, `${pattern} should match ${input}`);
  return expandGoTemplate(as, match);
}

/** `${1}` is Go's capture-group syntax here, written in plain strings on purpose. */
const GO = (text: string) => text.replaceAll('#{', '${');

describe('name.as expansion follows Go Regexp.Expand', () => {
  const cases: [string, string, string, string][] = [
    ['^(.*)_total$', '$1', 'http_requests_total', 'http_requests'],
    ['^(.*)_total$', GO('#{1}_per_second'), 'http_requests_total', 'http_requests_per_second'],
    // Go reads "$1_per_second" as the group named "1_per_second", which does not exist.
    ['^(.*)_total$', '$1_per_second', 'http_requests_total', ''],
    ['^(?P<base>.*)_total$', GO('#{base}_rate'), 'http_requests_total', 'http_requests_rate'],
    ['^(?P<base>.*)_total$', '$base', 'http_requests_total', 'http_requests'],
    ['^(.*)_total$', '$$1', 'x_total', '$1'],
    ['^(.*)_total$', 'cost_$', 'x_total', 'cost_$'],
    ['^(.*)_total$', GO('#{1'), 'x_total', GO('#{1')],
    ['^(.*)_total$', '$01', 'x_total', ''],
    ['^(.*)_total$', '$0', 'x_total', 'x_total'],
    ['^(a)(b)?$', '[$2]', 'a', '[]'],
    ['^(.*)_total$', '$9', 'x_total', ''],
  ];
  for (const [pattern, as, input, expected] of cases) {
    it(`${pattern} as ${JSON.stringify(as)} turns ${input} into ${JSON.stringify(expected)}`, () => {
      assert.equal(expand(pattern, as, input), expected);
    });
  }
});

describe('patterns are RE2, with Go syntax', () => {
  it('reads (?i), \\A, \\z, POSIX classes, \\Q…\\E and \\pL', () => {
    assert.ok(compileRe2('(?i)^HTTP_').test('http_requests'));
    assert.ok(compileRe2('\\Acontainer_.*_total\\z').test('container_cpu_total'));
    assert.ok(!compileRe2('\\Acontainer\\z').test('container_x'));
    assert.ok(compileRe2('^[[:alpha:]_]+$').test('abc_def'));
    assert.ok(!compileRe2('^[[:digit:]]+$').test('12a'));
    assert.ok(compileRe2('^\\Qa.b\\E$').test('a.b'));
    assert.ok(!compileRe2('^\\Qa.b\\E$').test('aXb'));
    assert.ok(compileRe2('^\\pL+$').test('héllo'));
    assert.ok(compileRe2('[]a]').test(']'));
  });

  it('reads inline flags anywhere and (?U) as Go does', () => {
    assert.ok(compileRe2('a(?i)b').test('aB'));
    assert.ok(!compileRe2('a(?i)b').test('Ab'));
    assert.equal(compileRe2('(?U)a+').exec('aaa')?.[0], 'a');
  });

  it('keeps Go meanings where JavaScript differs: \\d is ASCII, lookarounds are refused', () => {
    assert.ok(!compileRe2('^\\d$').test('٣'));
    assert.throws(() => compileRe2('x(?=y)'), /invalid regular expression "x\(\?=y\)": .*\(\?=/);
    assert.throws(() => compileRe2('(unclosed'), /invalid regular expression/);
  });

  it('runs in linear time: (a|aa)+ refuses a 39-character name at once', () => {
    // Backtracking takes seconds here, doubling with each character; RE2 takes microseconds.
    const name = `${'a'.repeat(38)}b`;
    const r = rule({ seriesFilters: [{ is: '^(a|aa)+$' }], name: { matches: '^((?:a|aa)+)$' } });
    assert.equal(r.rejects(name), 'seriesFilters[0] is "^(a|aa)+$"');
    assert.equal(r.metricName(name), '');
    assert.equal(r.metricName('a'.repeat(39)), 'a'.repeat(39));
  });
});

describe('naming a series', () => {
  it('defaults as to $0 without capture groups and $1 with one', () => {
    assert.equal(rule({}).metricName('http_requests_total'), 'http_requests_total');
    assert.equal(rule({ name: { matches: '^(.*)_total$' } }).metricName('http_requests_total'), 'http_requests');
    assert.equal(rule({ name: { matches: '', as: '' } }).metricName('up'), 'up');
  });

  it('requires as when matches has several groups, naming the field', () => {
    assert.throws(
      () => rule({ name: { matches: '^(.*)_(.*)$' } }),
      (error: unknown) =>
        error instanceof RuleError && /prometheus\.rules\[0\]\.name\.as: .*2 capture groups/.test(error.message),
    );
  });

  it('renames one metric outright with as alone (matches defaults to .*)', () => {
    assert.equal(rule({ name: { as: 'cheesy_goodness' } }).metricName('cheddar'), 'cheesy_goodness');
  });

  it('filters with is / isNot and the implicit name.matches filter, saying which one dropped a series', () => {
    const r = rule({
      seriesFilters: [{ isNot: '^container_.*_seconds_total$' }, { is: '^container_' }],
      name: { matches: '^container_(.*)_total$' },
    });
    assert.equal(r.rejects('container_network_receive_bytes_total'), undefined);
    assert.equal(
      r.rejects('container_cpu_usage_seconds_total'),
      'seriesFilters[0] isNot "^container_.*_seconds_total$"',
    );
    assert.equal(r.rejects('node_load1'), 'seriesFilters[1] is "^container_"');
    assert.equal(r.rejects('container_memory_working_set_bytes'), 'name.matches "^container_(.*)_total$"');
  });

  it('refuses a filter with both or neither of is / isNot at config time, a bad regexp at compile time', () => {
    assert.throws(
      () => rule({ seriesFilters: [{ is: '(' }] }),
      /prometheus\.rules\[0\]\.seriesFilters\[0\]: invalid regular expression/,
    );
  });

  it('refuses a metricsQuery that cannot parse or cannot render, naming the field', () => {
    assert.throws(
      () => rule({ metricsQuery: 'sum(<<.Series' }),
      /prometheus\.rules\[0\]\.metricsQuery: unclosed action/,
    );
    assert.throws(
      () => rule({ metricsQuery: '<<.Serie>>' }),
      /prometheus\.rules\[0\]\.metricsQuery: can't evaluate field Serie/,
    );
    assert.throws(
      () => compileRule({ seriesQuery: 'up', metricsQuery: '<<' }, 'external', 3, BUILTIN_RESOURCES),
      /prometheus\.externalRules\[3\]\.metricsQuery/,
    );
  });
});

describe('the rules of one config', () => {
  const repeated = { seriesQuery: 'up', metricsQuery: QUERY, name: { matches: '^(.*)_total$' } };

  it('share one compiled copy of a metricsQuery they repeat, each rule answering as its own', () => {
    const rules = compileRules(
      {
        rules: [repeated, { ...repeated, name: { matches: '^(.*)_total$', as: GO('#{1}_rate') } }],
        externalRules: [{ ...repeated, seriesFilters: [{ isNot: '^(.*)_total$' }] }],
      },
      BUILTIN_RESOURCES,
    );
    assert.equal(rules.length, 3);
    assert.ok(rules.every((r) => r.metricsQuery === rules[0]?.metricsQuery));
    assert.deepEqual(
      rules.map((r) => [r.metricName('jobs_total'), r.rejects('jobs_total') ?? 'kept']),
      [
        ['jobs', 'kept'],
        ['jobs_rate', 'kept'],
        ['jobs', 'seriesFilters[0] isNot "^(.*)_total$"'],
      ],
    );
  });

  it('name their own field when a pattern they repeat does not compile', () => {
    const bad = { ...repeated, name: { matches: '(' } };
    assert.throws(
      () => compileRules({ rules: [repeated], externalRules: [bad, bad] }, BUILTIN_RESOURCES),
      /prometheus\.externalRules\[0\]\.name\.matches: invalid regular expression/,
    );
  });
});

describe('resources', () => {
  it('maps override labels, normalising singular and grouped names', () => {
    const r = rule({
      resources: {
        overrides: {
          namespace: { resource: 'namespace' },
          pod_name: { resource: 'pod' },
          microservice: { group: 'apps', resource: 'deployment' },
          brand: { group: 'cheese.io', resource: 'brand' },
        },
      },
    });
    const resources = r.resources.resourcesFor(['namespace', 'pod_name', 'microservice', 'brand', 'verb']);
    assert.deepEqual(
      resources.map((x) => `${x.label}→${x.resource.resource}.${x.resource.group}`),
      ['namespace→namespaces.', 'pod_name→pods.', 'microservice→deployments.apps', 'brand→brands.cheese.io'],
    );
    assert.equal(r.resources.labelFor({ group: '', resource: 'pods' }), 'pod_name');
    assert.equal(r.resources.labelFor({ group: 'apps', resource: 'deployments' }), 'microservice');
    assert.equal(r.resources.labelFor({ group: '', resource: 'services' }), undefined);
  });

  it('maps template labels to the built-in kinds only, as a RESTMapper would', () => {
    const r = rule({ resources: { template: '<<.Resource>>' } });
    const resources = r.resources.resourcesFor([
      'namespace',
      'pod',
      'service',
      'job',
      'instance',
      'verb',
      'container',
      'ingress',
    ]);
    assert.deepEqual(
      resources.map((x) => `${x.resource.resource}.${x.resource.group}`),
      ['namespaces.', 'pods.', 'services.', 'jobs.batch', 'ingresses.networking.k8s.io'],
    );
    assert.equal(r.resources.labelFor({ group: 'apps', resource: 'deployments' }), 'deployment');
  });

  it('renders .Group with dots and dashes as underscores', () => {
    const r = rule({ resources: { template: 'kube_<<.Group>>_<<.Resource>>' } });
    assert.equal(
      r.resources.labelFor({ group: 'networking.k8s.io', resource: 'ingresses' }),
      'kube_networking_k8s_io_ingress',
    );
    assert.deepEqual(
      r.resources
        .resourcesFor(['kube_apps_deployment', 'kube_networking_k8s_io_ingress', 'deployment'])
        .map((x) => x.resource.resource),
      ['deployments', 'ingresses'],
    );
  });

  it('prefers an override to the template for the same resource', () => {
    const r = rule({
      resources: { template: '<<.Resource>>', overrides: { kubernetes_pod_name: { resource: 'pods' } } },
    });
    assert.equal(r.resources.labelFor({ group: '', resource: 'pods' }), 'kubernetes_pod_name');
  });

  it('external rules add the namespace unless resources.namespaced is false', () => {
    assert.equal(rule({}, 'external').namespaced, true);
    assert.equal(rule({ resources: { namespaced: false } }, 'external').namespaced, false);
  });
});
