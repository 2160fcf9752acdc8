import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Series } from '../../../src/providers/prometheus/announced-metrics.js';
import { SeriesHold } from '../../../src/providers/prometheus/series-discovery-hold.js';
import { countingSlice } from '../../support/loop-turns.js';

const atOnce = () => undefined;
const pods = (name: string, from: number, count: number): Series[] =>
  Array.from({ length: count }, (_, i) => ({ __name__: name, namespace: 'default', pod: `web-${from + i}` }));

describe('SeriesHold', () => {
  it('hands the listing itself back while it holds nothing else', async () => {
    const hold = new SeriesHold(300_000);
    const listed = pods('http_requests_total', 0, 3);
    const first = await hold.merge('q', listed, 0, atOnce);
    assert.equal(first.series, listed);
    const again = pods('http_requests_total', 0, 3);
    assert.equal((await hold.merge('q', again, 60_000, atOnce)).series, again);
  });

  it('holds one series of each name and label names that a listing missed', async () => {
    const hold = new SeriesHold(300_000);
    const jobs = { __name__: 'jobs', queue: 'a' };
    const builds = { __name__: 'builds', queue: 'c' };
    const withPod = { __name__: 'jobs', queue: 'a', pod: 'worker-1' };
    await hold.merge('q', [jobs, { __name__: 'jobs', queue: 'b' }, builds, withPod], 0, atOnce);
    // queue="b" is announced as queue="a" is: nothing to hold for it.
    assert.deepEqual(await hold.merge('q', [jobs], 60_000, atOnce), { series: [jobs, builds, withPod], held: 2 });
    assert.deepEqual(await hold.merge('q', [], 120_000, atOnce), { series: [jobs, builds, withPod], held: 3 });
    assert.deepEqual(await hold.merge('other', [], 120_000, atOnce), { series: [], held: 0 }, 'per seriesQuery');
  });

  it('knows a shape whatever order the server lists the labels in', async () => {
    const hold = new SeriesHold(300_000);
    await hold.merge('q', [{ __name__: 'jobs', queue: 'a' }], 0, atOnce);
    const reordered = await hold.merge('q', [{ queue: 'b', __name__: 'jobs' }], 60_000, atOnce);
    assert.deepEqual(reordered, { series: [{ queue: 'b', __name__: 'jobs' }], held: 0 });
  });

  it('keeps no more than the shapes listed within the bound while names churn', async () => {
    const hold = new SeriesHold(300_000);
    let merged = { series: [] as Series[], held: 0 };
    // Every minute for an hour, a metric name of its own (100 pods' series), none of the earlier ones.
    for (let minute = 0; minute < 60; minute++) {
      merged = await hold.merge('q', pods(`batch_${minute}`, 0, 100), minute * 60_000, atOnce);
    }
    assert.equal(merged.held, 5, 'one series of each name listed in the last 5 minutes');
    assert.deepEqual(
      merged.series.slice(100).map((s) => s.__name__),
      ['batch_54', 'batch_55', 'batch_56', 'batch_57', 'batch_58'],
    );
  });

  it('gives the event loop back while it merges a large listing', async () => {
    const hold = new SeriesHold(300_000);
    await hold.merge('q', pods('http_requests_total', 0, 20_000), 0, atOnce);
    const { slice, count } = countingSlice();
    const merged = await hold.merge('q', pods('http_responses_total', 0, 20_000), 60_000, slice);
    assert.equal(merged.series.length, 20_001);
    assert.ok(count() >= 20_000 / 512 - 1, `the loop was given back ${count()} times for 20,000 series`);
  });
});
