import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_RESOURCES } from '../../../src/api/builtin-resources.js';
import { listSeries, type Series } from '../../../src/providers/prometheus/announced-metrics.js';
import { compileRule } from '../../../src/providers/prometheus/rules.js';
import { countingSlice } from '../../support/loop-turns.js';

describe('listing the series of many rules', () => {
  it('keeps a few calls in flight, not one per rule, and answers every query', async () => {
    const rules = Array.from({ length: 200 }, (_, i) =>
      compileRule({ seriesQuery: `jobs_${i}`, metricsQuery: 'sum(<<.Series>>)' }, 'external', i, BUILTIN_RESOURCES),
    );
    let inFlight = 0;
    let mostInFlight = 0;
    const client = {
      async series(match: string): Promise<Series[]> {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        if (match === 'jobs_7') throw new Error('refused');
        return [{ __name__: match }];
      },
    };
    const found = await listSeries(client, rules, { start: new Date(0), end: new Date(1000) });
    assert.equal(found.size, 200);
    assert.deepEqual(found.get('jobs_3'), [{ __name__: 'jobs_3' }]);
    assert.ok(found.get('jobs_7') instanceof Error, 'a failed query yields its error, the others their series');
    // 200 at once started 200 requests in one turn of the event loop (seconds for 5,000 rules).
    assert.ok(mostInFlight <= 16, `${mostInFlight} series calls in flight at once`);
  });

  it('gives the event loop back before each call (failures arriving together started their next calls in one turn)', async () => {
    const rules = Array.from({ length: 50 }, (_, i) =>
      compileRule({ seriesQuery: `jobs_${i}`, metricsQuery: 'sum(<<.Series>>)' }, 'external', i, BUILTIN_RESOURCES),
    );
    const client = { series: async (): Promise<Series[]> => Promise.reject(new Error('connect ECONNREFUSED')) };
    const { slice, count } = countingSlice();
    const found = await listSeries(client, rules, { start: new Date(0), end: new Date(1000) }, undefined, slice);
    assert.equal(found.size, 50);
    assert.ok(count() >= 50, `the loop was given back ${count()} times for 50 calls`);
  });
});
