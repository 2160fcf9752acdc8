import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TurnSlicer } from '../../src/lib/turn-slicer.js';
import { loopTurnsDuring } from '../support/loop-turns.js';

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('TurnSlicer', () => {
  // A clock of its own: with the wall clock, a unit run starved of CPU (it runs at nice 10 beside
  // the end-to-end run) lost 50 ms between the resume and the next step, and the fresh turn's
  // slice was over before it was asked (CI, stop 31).
  it('stays in the turn while the slice lasts, then gives the loop back', async () => {
    let now = 1000;
    const slicer = new TurnSlicer(50, () => now);
    now += 49;
    assert.equal(slicer.slice(), undefined, 'a short step continues in the same turn');
    let otherWorkRan = false;
    setImmediate(() => {
      otherWorkRan = true;
    });
    now += 1;
    const pause = slicer.slice();
    assert.ok(pause instanceof Promise, 'past the slice, the caller is told to wait');
    assert.equal(otherWorkRan, false);
    await pause;
    assert.equal(otherWorkRan, true, 'work queued on the loop ran before the caller went on');
    now += 49;
    assert.equal(slicer.slice(), undefined, 'the next turn has a slice of its own');
    now += 1;
    assert.ok(slicer.slice() instanceof Promise, 'and it ends as the first did');
  });

  it('cuts a long loop of steps into many turns', async () => {
    const slicer = new TurnSlicer(5);
    const turns = await loopTurnsDuring(async () => {
      for (let step = 0; step < 40; step++) {
        busy(1);
        await slicer.slice();
      }
    });
    assert.ok(turns >= 4, `the loop turned ${turns} times during 40 ms of steps`);
  });

  it('resumes waiters one per turn, in order, when many wait at once', async () => {
    const slicer = new TurnSlicer(5);
    busy(6);
    const order: number[] = [];
    const turns = await loopTurnsDuring(() =>
      Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          await slicer.slice();
          order.push(i);
          busy(6);
        }),
      ),
    );
    assert.deepEqual(
      order,
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.ok(turns >= 15, `20 waiters of a full slice each resumed in ${turns} turns`);
  });
});
