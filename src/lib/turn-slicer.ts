import { performance } from 'node:perf_hooks';

/**
 * How long one event-loop turn may run before long work gives the loop back. /livez and metric
 * requests wait at most about this long behind it (issue 20 item 12: a config of thousands of
 * rules, or of 500 servers, held the loop for seconds while it was compiled, built and started).
 */
export const TURN_SLICE_MS = 10;

/**
 * Cuts long synchronous work into event-loop turns: call slice() between steps and await what it
 * returns. It answers undefined while the current turn has run less than `sliceMs` (short work
 * stays synchronous), else a promise that resolves in a later turn, after pending I/O has been
 * served. Waiters resume one per turn, in the order they came: 500 servers' relists whose timers
 * fire together are spread over 500 turns instead of all resuming in the next one.
 *
 * ```ts
 * for (const rule of rules) {
 *   compiled.push(compileRule(rule));
 *   await loopTurns.slice();
 * }
 * ```
 */
export class TurnSlicer {
  private turnStarted: number;
  private readonly waiting: (() => void)[] = [];

  /** `now` in milliseconds; a test gives its own clock, so a machine that stalls it cannot end a slice early. */
  constructor(
    private readonly sliceMs = TURN_SLICE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.turnStarted = now();
  }

  slice(): Promise<void> | undefined {
    if (this.waiting.length === 0 && this.now() - this.turnStarted < this.sliceMs) return undefined;
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length === 1) setImmediate(this.resumeNext);
    });
  }

  // An immediate queued while immediates run waits for the next turn of the loop.
  private readonly resumeNext = (): void => {
    this.turnStarted = this.now();
    this.waiting.shift()?.();
    if (this.waiting.length > 0) setImmediate(this.resumeNext);
  };
}

/** Runs a generator of steps to its end in this turn; its value. */
export function runAtOnce<T>(steps: Generator<unknown, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs a generator of steps to its end, giving the loop back between steps when `slice` says so. */
export async function runInTurns<T>(steps: Generator<unknown, T>, slice: () => Promise<void> | undefined): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    const turn = slice();
    if (turn) await turn;
  }
}

/** The process's one event loop, shared by everything that slices its work (config loads, relists). */
export const loopTurns = new TurnSlicer();
