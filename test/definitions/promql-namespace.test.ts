import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enforceNamespace, QueryInvalidError } from '../../src/definitions/promql-namespace.js';

const scoped = (query: string, label = 'namespace', namespace = 'team-a') =>
  enforceNamespace(query, label, namespace).text;

describe('enforceNamespace', () => {
  it('adds the namespace to every vector and matrix selector, in functions, binary operators and subqueries', () => {
    assert.equal(
      scoped('sum(rate(jobs_failed_total{job="x"}[1m])) / on() group_left count(up) + foo offset 5m + bar[5m:1m]'),
      'sum(rate(jobs_failed_total{namespace="team-a",job="x"}[1m])) / on() group_left count(up{namespace="team-a"}) + foo{namespace="team-a"} offset 5m + bar{namespace="team-a"}[5m:1m]',
    );
  });

  it('fills empty braces and braces with a trailing comma, and selectors by __name__ or a quoted name', () => {
    assert.equal(scoped('foo{}'), 'foo{namespace="team-a"}');
    assert.equal(scoped('foo{a="1",}'), 'foo{namespace="team-a",a="1",}');
    assert.equal(scoped('{__name__=~"jobs_.*"}'), '{namespace="team-a",__name__=~"jobs_.*"}');
    assert.equal(scoped('{"jobs.total"}'), '{namespace="team-a","jobs.total"}');
  });

  it('uses the label the admin names', () => {
    assert.equal(scoped('up', 'kubernetes_namespace'), 'up{kubernetes_namespace="team-a"}');
  });

  it('adds the HPA selector matchers beside the namespace', () => {
    const query = enforceNamespace('sum(queue_depth) + sum(rate(x[1m]))', 'namespace', 'team-a');
    assert.equal(
      query.render('queue="jobs"'),
      'sum(queue_depth{namespace="team-a",queue="jobs"}) + sum(rate(x{namespace="team-a",queue="jobs"}[1m]))',
    );
  });

  it('accepts a selector that asks exactly for its own namespace', () => {
    assert.equal(scoped('up{namespace="team-a"}'), 'up{namespace="team-a",namespace="team-a"}');
  });

  for (const query of [
    'up{namespace="b"}',
    "up{namespace='b'}",
    'up{namespace=~"team-a|b"}',
    'up{namespace!="team-a"}',
    'up{namespace=~".+"}',
    '{"namespace"="b"}',
    'sum(rate(x[1m])) + up{namespace="b"}',
    'up{"names\\x70ace"="b"}',
  ]) {
    it(`refuses ${query}`, () => {
      assert.throws(() => scoped(query), QueryInvalidError);
    });
  }

  for (const query of ['sum(rate(', 'up{', 'foo bar', 'up{namespace="b"', ')', '1 +']) {
    it(`refuses what the PromQL parser refuses: ${query}`, () => {
      assert.throws(() => scoped(query), /PromQL syntax error/);
    });
  }

  it('refuses a query with no selector, which no namespace could scope', () => {
    assert.throws(() => scoped('vector(1)'), /no vector selector/);
  });

  it('parses a long query in bounded time without recursion limits', () => {
    const query = Array.from({ length: 400 }, (_, i) => `m${i}`).join(' + ');
    assert.equal(scoped(query).split('namespace="team-a"').length - 1, 400);
  });
});
