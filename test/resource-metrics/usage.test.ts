import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import type { ObjectSummary } from '../../src/kube/types.js';
import type { PromSample } from '../../src/providers/prometheus/client.js';
import { resourceRulesSchema } from '../../src/providers/prometheus/resource-rule-schema.js';
import { compileResourceRules } from '../../src/resource-metrics/rules.js';
import { type JoinProblems, nodeUsage, podUsage } from '../../src/resource-metrics/usage.js';

const RULE = {
  containerQuery: 'sum by (<<.GroupBy>>) (c{<<.LabelMatchers>>})',
  nodeQuery: 'sum by (<<.GroupBy>>) (n{<<.LabelMatchers>>})',
  resources: {
    overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' }, node: { resource: 'node' } },
  },
  containerLabel: 'container',
};
const RULES = compileResourceRules(
  resourceRulesSchema.parse(parse(JSON.stringify({ cpu: RULE, memory: RULE, window: '5m' }))),
  'resourceRules',
  BUILTIN_RESOURCES,
);
const T = new Date('2026-12-07T09:00:00Z');

function sample(labels: Record<string, string>, value: number, at = T): PromSample {
  return { labels, value, timestamp: at };
}
const pod = (name: string, namespace = 'shop'): ObjectSummary => ({ name, namespace, labels: { app: name } });
const c = (p: string, container: string, value: number, at?: Date) =>
  sample({ namespace: 'shop', pod: p, container }, value, at);

function pods(objects: ObjectSummary[], cpu: PromSample[], memory: PromSample[]) {
  const problems: JoinProblems = { ambiguous: [] };
  return { usage: podUsage(objects, { cpu, memory }, RULES, 'shop', problems), problems };
}

describe('joining query results into pod usage', () => {
  it('a container is a series with a container name; the pod cgroup (container="") is not one', () => {
    const { usage } = pods([pod('web')], [c('web', 'app', 0.25), c('web', '', 0.5)], [c('web', 'app', 1024)]);
    assert.deepEqual(usage[0]?.containers, [{ name: 'app', cpu: 0.25, memory: 1024 }]);
  });

  it('serves a pod with memory but no CPU yet, the missing value absent (not 0)', () => {
    const { usage } = pods([pod('new')], [], [c('new', 'app', 4096)]);
    assert.deepEqual(usage[0]?.containers, [{ name: 'app', memory: 4096 }]);
  });

  it('NaN and negative values are 0, +Inf is no value', () => {
    const { usage } = pods(
      [pod('odd')],
      [c('odd', 'a', Number.NaN), c('odd', 'b', -1), c('odd', 'c', Number.POSITIVE_INFINITY)],
      [c('odd', 'c', 10)],
    );
    assert.deepEqual(usage[0]?.containers, [
      { name: 'a', cpu: 0 },
      { name: 'b', cpu: 0 },
      { name: 'c', memory: 10 },
    ]);
  });

  it('leaves out a pod with two series for one container, names it, and keeps the others', () => {
    const { usage, problems } = pods(
      [pod('dup'), pod('ok')],
      [c('dup', 'app', 1), c('dup', 'app', 2), c('ok', 'app', 1)],
      [c('ok', 'app', 1)],
    );
    assert.deepEqual(
      usage.map((p) => p.name),
      ['ok'],
    );
    assert.deepEqual(problems.ambiguous, ['shop/dup']);
  });

  it('serves only listed pods that have series, in the lister`s order, with the oldest sample`s time', () => {
    const earlier = new Date(T.getTime() - 15_000);
    const { usage } = pods(
      [pod('b'), pod('ghost'), pod('a')],
      [c('a', 'x', 1), c('b', 'x', 1, earlier), c('gone', 'x', 1)],
      [c('a', 'x', 1), c('b', 'x', 1)],
    );
    assert.deepEqual(
      usage.map((p) => [p.name, p.timestamp.toISOString(), p.windowMs]),
      [
        ['b', earlier.toISOString(), 300_000],
        ['a', T.toISOString(), 300_000],
      ],
    );
  });

  it('keeps pods of one name in two namespaces apart', () => {
    const problems: JoinProblems = { ambiguous: [] };
    const usage = podUsage(
      [pod('web', 'a'), pod('web', 'b')],
      {
        cpu: [
          sample({ namespace: 'a', pod: 'web', container: 'x' }, 1),
          sample({ namespace: 'b', pod: 'web', container: 'x' }, 2),
        ],
        memory: [],
      },
      RULES,
      undefined,
      problems,
    );
    assert.deepEqual(
      usage.map((p) => [p.namespace, p.containers[0]?.cpu]),
      [
        ['a', 1],
        ['b', 2],
      ],
    );
  });

  it('joins 50,000 listed pods against their series in one pass', () => {
    const listed = Array.from({ length: 50_000 }, (_, i) => pod(`p-${i}`));
    const cpu = listed.map((p) => c(p.name, 'app', 0.001));
    const memory = listed.map((p) => c(p.name, 'app', 4096));
    const { usage } = pods(listed, cpu, memory);
    assert.equal(usage.length, 50_000);
  });
});

describe('joining query results into node usage', () => {
  const node = (name: string): ObjectSummary => ({ name, labels: {} });
  const n = (name: string, value: number) => sample({ node: name }, value);
  it('needs one CPU and one memory series; a node without either, or with two, is left out', () => {
    const problems: JoinProblems = { ambiguous: [] };
    const usage = nodeUsage(
      [node('ok'), node('no-memory'), node('none'), node('twice')],
      { cpu: [n('ok', 0.5), n('no-memory', 1), n('twice', 1), n('twice', 2)], memory: [n('ok', 1024), n('twice', 1)] },
      RULES,
      problems,
    );
    assert.deepEqual(
      usage.map((u) => [u.name, u.cpu, u.memory]),
      [['ok', 0.5, 1024]],
    );
    assert.deepEqual(problems.ambiguous, ['twice']);
  });
});
