/** Turns of the event loop while `work` runs: 0 when it held the loop from start to end. */
export async function loopTurnsDuring(work: () => Promise<unknown>): Promise<number> {
  const counter = turnCounter();
  await work()
    .finally(() => counter.stop())
    .catch(() => undefined);
  return counter.turn;
}

/**
 * Counts the event-loop turns from now until stop(): one immediate per turn (an immediate queued
 * while immediates run waits for the next turn), so code running in the n-th turn reads n.
 */
export function turnCounter(): { readonly turn: number; stop(): void } {
  let turn = 0;
  let running = true;
  const next = () => {
    turn++;
    if (running) setImmediate(next);
  };
  setImmediate(next);
  return {
    get turn() {
      return turn;
    },
    stop() {
      running = false;
    },
  };
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
