/** Turns of the event loop while `work` runs: 0 when it held the loop from start to end. */
export async function loopTurnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let running = true;
  const turn = () => {
    turns++;
    if (running) setImmediate(turn);
  };
  const done = work().finally(() => {
    running = false;
  });
  setImmediate(turn);
  await done.catch(() => undefined);
  return turns;
}

/** A slice (as TurnSlicer.slice) that gives the loop back every time, counting how often it was asked to. */
export function countingSlice(): { slice: () => Promise<void>; count: () => number } {
  let count = 0;
  return {
    slice: () => {
      count++;
      return new Promise((resolve) => setImmediate(resolve));
    },
    count: () => count,
  };
}
