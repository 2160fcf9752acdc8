import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Series } from '../../../src/providers/prometheus/announced-metrics.js';
import { SeriesHold } from '../../../src/providers/prometheus/series-discovery-hold.js';
import { countingSlice } from '../../support/loop-turns.js';

const atOnce = () => undefined;
const pods = (from: number, count: number): Series[] =>
  Array.from({ length: count }, (_, i) => ({ __name__: 'http_requests_total', pod: `web-${from + i}` }));

describe('SeriesHold', () => {
  it('hands the listing itself back while it holds nothing else', async () => {
    const hold = new SeriesHold(300_000);
    const listed = pods(0, 3);
    const first = await hold.merge('q', listed, 0, atOnce);
    assert.equal(first.series, listed);
    const again = pods(0, 3);
    assert.equal((await hold.merge('q', again, 60_000, atOnce)).series, again);
  });

  it('knows a series by its labels, whatever order the server lists them in', async () => {
    const hold = new SeriesHold(300_000);
    await hold.merge('q', [{ __name__: 'jobs', queue: 'a' }], 0, atOnce);
    const reordered = await hold.merge('q', [{ queue: 'a', __name__: 'jobs' }], 60_000, atOnce);
    assert.deepEqual(reordered, { series: [{ queue: 'a', __name__: 'jobs' }], held: 0 });
  });

  it('keeps no more than the listings found within the bound while pods churn', async () => {
    const hold = new SeriesHold(300_000);
    let kept = 0;
    // Every minute for an hour, 100 new pods and none of the earlier ones.
    for (let minute = 0; minute < 60; minute++) {
      kept = (await hold.merge('q', pods(minute * 100, 100), minute * 60_000, atOnce)).series.length;
    }
    assert.equal(kept, 600, 'the listings of the last 5 minutes and of this one');
  });

  it('gives the event loop back while it merges a large listing', async () => {
    const hold = new SeriesHold(300_000);
    await hold.merge('q', pods(0, 20_000), 0, atOnce);
    const { slice, count } = countingSlice();
    const merged = await hold.merge('q', pods(10_000, 20_000), 60_000, slice);
    assert.equal(merged.series.length, 30_000);
    assert.equal(merged.held, 10_000);
    assert.ok(count() >= 20_000 / 512, `the loop was given back ${count()} times for 30,000 series`);
  });
});
