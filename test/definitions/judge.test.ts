import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeDefinition } from '../../src/definitions/judge.js';
import { DefinitionsPolicyRules } from '../../src/definitions/policy.js';
import { definitionsPolicySchema } from '../../src/definitions/policy-config.js';
import { decodeDefinition } from '../../src/definitions/resource.js';

/** The admin's `${namespace}` placeholder (not a template string). */
const NS = '$' + '{namespace}';

const policy = (extra: Record<string, unknown> = {}) =>
  new DefinitionsPolicyRules(
    definitionsPolicySchema.parse({
      enabled: true,
      rules: [
        {
          namespaces: ['team-*'],
          prometheus: { servers: ['default'] },
          sqs: { queues: [`${NS}-*`], accounts: ['111111111111'] },
          cloudwatch: { metricNamespaces: ['AWS/SQS', `Team/${NS}`] },
        },
      ],
      ...extra,
    }),
  );

const judge = (namespace: string, spec: unknown, rules = policy()) =>
  judgeDefinition(decodeDefinition({ metadata: { name: 'm', namespace }, spec }), {
    policy: rules,
    prometheusServers: ['default', 'thanos'],
  });

const reasonOf = (j: ReturnType<typeof judge>) => (j.ok ? 'Valid' : j.reason);

describe('judgeDefinition', () => {
  it('reads onError and noData given as quantity strings as the numbers the config takes', () => {
    const j = judge('team-a', {
      prometheus: { query: 'sum(up)' },
      failurePolicy: { onError: '0.5', noData: '1500m' },
    });
    assert.ok(j.ok && j.plan.kind === 'prometheus', !j.ok ? j.message : '');
    assert.deepEqual(j.plan.failurePolicy, { onError: 0.5, noData: 1.5 });
    const bad = judge('team-a', { prometheus: { query: 'sum(up)' }, failurePolicy: { noData: 'plenty' } });
    assert.equal(reasonOf(bad), 'QueryInvalid');
  });

  it('serves a PromQL definition with the namespace enforced', () => {
    const j = judge('team-a', { prometheus: { query: 'sum(rate(jobs_failed_total[5m]))' } });
    assert.ok(j.ok && j.plan.kind === 'prometheus');
    assert.equal(j.plan.query.text, 'sum(rate(jobs_failed_total{namespace="team-a"}[5m]))');
    assert.equal(j.key, 'team-a:m');
  });

  it('QueryInvalid: another namespace named, PromQL refused by the parser, no backend, two backends', () => {
    assert.equal(reasonOf(judge('team-a', { prometheus: { query: 'up{namespace="team-b"}' } })), 'QueryInvalid');
    assert.equal(reasonOf(judge('team-a', { prometheus: { query: 'sum(rate(' } })), 'QueryInvalid');
    assert.equal(reasonOf(judge('team-a', {})), 'QueryInvalid');
    assert.equal(
      reasonOf(judge('team-a', { prometheus: { query: 'up' }, sqs: { queueName: 'team-a-x' } })),
      'QueryInvalid',
    );
    assert.equal(reasonOf(judge('team-a', { prometheus: { query: 'x'.repeat(1024 * 1024) } })), 'QueryInvalid');
    assert.equal(
      reasonOf(judge('team-a', { sqs: { queueName: 'team-a-x', queueNames: ['team-a-y'] } })),
      'QueryInvalid',
    );
  });

  it('Forbidden: a queue outside the namespace glob, another account, an uncovered prefix', () => {
    assert.equal(reasonOf(judge('team-a', { sqs: { queueName: 'team-a-jobs' } })), 'Valid');
    assert.equal(reasonOf(judge('team-a', { sqs: { queueName: 'team-b-jobs' } })), 'Forbidden');
    assert.equal(reasonOf(judge('team-a', { sqs: { queueNames: ['team-a-1', 'team-b-1'] } })), 'Forbidden');
    assert.equal(reasonOf(judge('team-a', { sqs: { queueNamePrefix: 'team-a-batch' } })), 'Valid');
    assert.equal(reasonOf(judge('team-a', { sqs: { queueNamePrefix: 'team' } })), 'Forbidden');
    assert.equal(reasonOf(judge('team-a', { sqs: { queueName: 'team-a-x', accountId: '111111111111' } })), 'Valid');
    assert.equal(reasonOf(judge('team-a', { sqs: { queueName: 'team-a-x', accountId: '222222222222' } })), 'Forbidden');
    assert.equal(
      reasonOf(judge('team-a', { sqs: { queueUrl: 'https://sqs.us-east-1.amazonaws.com/222222222222/team-a-x' } })),
      'Forbidden',
    );
  });

  it('Forbidden: a CloudWatch namespace outside the rule, and SEARCH expressions', () => {
    const stat = (namespace: string) => ({
      queries: [{ id: 'm1', metricStat: { namespace, metricName: 'X', stat: 'Sum' } }],
    });
    assert.equal(reasonOf(judge('team-a', { cloudwatch: stat('Team/team-a') })), 'Valid');
    assert.equal(reasonOf(judge('team-a', { cloudwatch: stat('Team/team-b') })), 'Forbidden');
    const search = { queries: [{ id: 'e1', expression: "SEARCH('{AWS/EC2} CPU', 'Average', 60)" }] };
    assert.equal(reasonOf(judge('team-a', { cloudwatch: search })), 'Forbidden');
  });

  it('CloudWatch expressions call only listed metric-math functions; an unknown one is refused by name', () => {
    const math = (expression: string) => ({
      queries: [
        { id: 'm1', metricStat: { namespace: 'Team/team-a', metricName: 'X', stat: 'Sum' }, returnData: false },
        { id: 'e1', expression, returnData: true },
      ],
    });
    for (const valid of [
      'm1 * 2',
      'FILL(m1, REPEAT) + RATE(m1)',
      'IF(m1 > 10 AND m1 < 100, m1, 0)',
      'SUM(METRICS("search-free label"))',
      'RUNNING_SUM(DIFF_TIME(m1)) / PERIOD(m1)',
    ]) {
      assert.equal(reasonOf(judge('team-a', { cloudwatch: math(valid) })), 'Valid', valid);
    }
    for (const [expression, named] of [
      ['LAMBDA("my-function", m1)', 'LAMBDA'],
      ["DB_PERF_INSIGHTS('RDS', 'db-1', 'os.cpu')", 'DB_PERF_INSIGHTS'],
      ['m1 + FUTURE_FUNCTION(m1)', 'FUTURE_FUNCTION'],
      ["search('{AWS/SQS}', 'Sum')", 'search'],
    ]) {
      const judged = judge('team-a', { cloudwatch: math(expression as string) });
      assert.equal(reasonOf(judged), 'Forbidden', expression);
      assert.ok(!judged.ok && judged.message.includes(`calls ${named},`), !judged.ok ? judged.message : '');
    }
  });

  it('Forbidden: a namespace no rule names, a server not allowed, a backend not allowed, definitions off', () => {
    assert.equal(reasonOf(judge('other', { prometheus: { query: 'up' } })), 'Forbidden');
    assert.equal(reasonOf(judge('team-a', { prometheus: { query: 'up', server: 'thanos' } })), 'Forbidden');
    assert.equal(
      reasonOf(judge('team-a', { prometheus: { query: 'up' } }, policy({ backends: ['sqs'] }))),
      'Forbidden',
    );
    assert.equal(reasonOf(judge('team-a', { prometheus: { query: 'up' } }, policy({ enabled: false }))), 'Forbidden');
  });

  it('raises a TTL below the admin minimum', () => {
    const j = judge('team-a', { sqs: { queueName: 'team-a-x' }, cache: { ttl: '1s' } }, policy({ minTtl: '30s' }));
    assert.ok(j.ok);
    assert.equal(j.ttlMs, 30_000);
  });
});
