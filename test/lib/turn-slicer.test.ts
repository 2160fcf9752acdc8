import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { turnSlicer } from '../../src/lib/turn-slicer.js';

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('turnSlicer', () => {
  it('stays in the turn while the slice lasts, then gives the loop back', async () => {
    const slice = turnSlicer(50);
    assert.equal(slice(), undefined, 'a short step continues in the same turn');
    let otherWorkRan = false;
    setImmediate(() => {
      otherWorkRan = true;
    });
    busy(60);
    const pause = slice();
    assert.ok(pause instanceof Promise, 'past the slice, the caller is told to wait');
    assert.equal(otherWorkRan, false);
    await pause;
    assert.equal(otherWorkRan, true, 'work queued on the loop ran before the caller went on');
    assert.equal(slice(), undefined, 'the next turn has a slice of its own');
  });

  it('cuts a long loop of steps into many turns', async () => {
    const slice = turnSlicer(5);
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    for (let step = 0; step < 40; step++) {
      busy(1);
      await slice();
    }
    counting = false;
    assert.ok(turns >= 4, `the loop turned ${turns} times during 40 ms of steps`);
  });
});
