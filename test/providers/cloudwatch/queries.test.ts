import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError } from '../../../src/api/errors.js';
import { cloudWatchBackendSchema } from '../../../src/providers/cloudwatch/config.js';
import { cloudWatchFailurePolicies } from '../../../src/providers/cloudwatch/module.js';
import {
  needsOwnCall,
  prefixQueryIds,
  resolveQueries,
  timeRangeAt,
} from '../../../src/providers/cloudwatch/queries.js';

const stat = { namespace: 'AWS/ApplicationELB', metricName: 'RequestCount', stat: 'Sum' };

function parseMetrics(metrics: unknown[], extra: Record<string, unknown> = {}) {
  return cloudWatchBackendSchema.safeParse({ metrics, ...extra });
}

describe('time range', () => {
  test('ends at the newest period boundary at least lag seconds old and spans window seconds', () => {
    const now = Date.parse('2026-03-01T12:00:30Z');
    const range = timeRangeAt(now, { period: 60, lag: 60, window: 300 });
    assert.deepEqual(range, {
      startTime: Date.parse('2026-03-01T11:54:00Z') / 1000,
      endTime: Date.parse('2026-03-01T11:59:00Z') / 1000,
    });
    const fiveMinutes = timeRangeAt(now, { period: 300, lag: 0, window: 900 });
    assert.equal(fiveMinutes.endTime, Date.parse('2026-03-01T12:00:00Z') / 1000);
  });
});

describe('query Ids in a shared call', () => {
  test('prefixes Ids and the references to them, leaving functions and string literals alone', () => {
    const queries = prefixQueryIds(
      [
        { Id: 'm1', ReturnData: false },
        { Id: 'errors', ReturnData: false },
        {
          Id: 'e1',
          Expression: `FILL(errors, 0) / m1 * 100 + SEARCH('{AWS/ELB,m1} errors', 'Sum', 60)`,
          ReturnData: true,
        },
      ],
      'q7_',
    );
    assert.deepEqual(
      queries.map((q) => q.Id),
      ['q7_m1', 'q7_errors', 'q7_e1'],
    );
    assert.equal(queries[2]?.Expression, `FILL(q7_errors, 0) / q7_m1 * 100 + SEARCH('{AWS/ELB,m1} errors', 'Sum', 60)`);
  });

  test('METRICS() reads the whole request, so such a query group needs its own call', () => {
    assert.equal(needsOwnCall([{ Id: 'e', Expression: 'SUM(METRICS())' }]), true);
    assert.equal(needsOwnCall([{ Id: 'e', Expression: 'AVG(METRICS("m"))' }]), true);
    assert.equal(needsOwnCall([{ Id: 'e', Expression: 'm1 * 2' }]), false);
  });
});

describe('selector placeholders', () => {
  test('fill dimension values from pinned selector labels', () => {
    const parsed = parseMetrics([
      {
        name: 'alb',
        queries: [
          { id: 'm1', metricStat: { ...stat, dimensions: [{ name: 'LoadBalancer', value: `app/\${selector.lb}/x` }] } },
        ],
      },
    ]);
    assert.ok(parsed.success);
    const metric = parsed.data.metrics[0];
    assert.ok(metric);
    const [query] = resolveQueries(metric, { lb: 'web' });
    assert.deepEqual(query?.MetricStat?.Metric?.Dimensions, [{ Name: 'LoadBalancer', Value: 'app/web/x' }]);
    assert.throws(
      () => resolveQueries(metric, {}),
      (e: unknown) => e instanceof ApiError && e.reason === 'BadRequest' && /lb=<value>/.test(e.message),
    );
  });
});

describe('config', () => {
  test('defaults: period 60, lag 60, window 5 periods, noData error, batch window 5 ms, 500 queries per call', () => {
    const parsed = parseMetrics([{ name: 'alb', queries: [{ id: 'm1', metricStat: stat }] }]);
    assert.ok(parsed.success);
    assert.equal(parsed.data.batchWindowMs, 5);
    assert.equal(parsed.data.maxQueriesPerCall, 500);
    assert.equal(parsed.data.maxAttempts, 3);
    const metric = parsed.data.metrics[0];
    assert.deepEqual([metric?.period, metric?.lag, metric?.window], [60, 60, 300]);
    assert.equal(cloudWatchFailurePolicies(parsed.data)('alb').noData, 'error');
    assert.equal(metric?.queries[0]?.returnData, true);
  });

  const invalid: [string, unknown[], RegExp][] = [
    [
      'two queries, none marked returnData',
      [
        {
          name: 'x',
          queries: [
            { id: 'a', metricStat: stat },
            { id: 'b', expression: 'a*2' },
          ],
        },
      ],
      /exactly one query must have returnData/,
    ],
    ['an Id starting upper-case', [{ name: 'x', queries: [{ id: 'M1', metricStat: stat }] }], /lower-case letter/],
    [
      'a duplicate Id',
      [
        {
          name: 'x',
          queries: [
            { id: 'a', metricStat: stat, returnData: true },
            { id: 'a', expression: 'a' },
          ],
        },
      ],
      /used twice/,
    ],
    [
      'both metricStat and expression',
      [{ name: 'x', queries: [{ id: 'a', metricStat: stat, expression: 'a' }] }],
      /exactly one of metricStat and expression/,
    ],
    [
      'a period CloudWatch refuses',
      [{ name: 'x', period: 45, queries: [{ id: 'a', metricStat: stat }] }],
      /multiple of 60/,
    ],
    [
      'a window shorter than the period',
      [{ name: 'x', window: 30, queries: [{ id: 'a', metricStat: stat }] }],
      /at least one period/,
    ],
    [
      'an empty placeholder',
      [
        {
          name: 'x',
          queries: [{ id: 'a', metricStat: { ...stat, dimensions: [{ name: 'A', value: `\${selector.}` }] } }],
        },
      ],
      /must name a label/,
    ],
    ['a bad noData', [{ name: 'x', noData: 'none', queries: [{ id: 'a', metricStat: stat }] }], /./],
  ];
  for (const [what, metrics, message] of invalid) {
    test(`refuses ${what}`, () => {
      const parsed = parseMetrics(metrics);
      assert.equal(parsed.success, false);
      assert.match(parsed.error?.issues.map((i) => i.message).join('\n') ?? '', message);
    });
  }

  test('refuses a metric with more queries than maxQueriesPerCall', () => {
    const queries = [
      { id: 'a', metricStat: stat, returnData: true },
      { id: 'b', metricStat: stat },
      { id: 'c', expression: 'a+b' },
    ];
    const parsed = parseMetrics([{ name: 'x', queries }], { maxQueriesPerCall: 2 });
    assert.equal(parsed.success, false);
    assert.match(parsed.error?.issues[0]?.message ?? '', /more than maxQueriesPerCall \(2\)/);
  });
});
