import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, DEFAULT_INFORMER_TIMINGS } from '../../src/kube/list-watch-informer.js';

describe('informer retry backoff', () => {
  it('doubles from 0.8 s per failure up to 30 s', () => {
    const middle = (failures: number) => backoffDelay(failures, DEFAULT_INFORMER_TIMINGS, 0.5);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(middle), [800, 1600, 3200, 6400, 12_800, 25_600, 30_000]);
    assert.equal(middle(1000), 30_000);
  });

  it('spreads each delay over ±50 % with the random draw, so failed informers do not retry in step', () => {
    assert.equal(backoffDelay(3, DEFAULT_INFORMER_TIMINGS, 0), 1600);
    assert.equal(backoffDelay(3, DEFAULT_INFORMER_TIMINGS, 0.999_999), 4799.9968);
    assert.equal(backoffDelay(40, DEFAULT_INFORMER_TIMINGS, 0), 15_000);
  });
});
