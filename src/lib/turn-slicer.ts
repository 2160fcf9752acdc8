import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * How long one event-loop turn may run before long work gives the loop back. /livez and metric
 * requests wait at most about this long behind it (issue 20 item 12: a config of thousands of
 * rules, or of 500 servers, held the loop for seconds while it was compiled and built).
 */
export const TURN_SLICE_MS = 10;

/**
 * Cuts long synchronous work into event-loop turns: call the slicer between steps and await what
 * it returns. It answers undefined while the current turn has run less than `sliceMs` (so short
 * work stays synchronous and cheap), else a promise that resolves in a later turn, after pending
 * I/O has been served.
 *
 * ```ts
 * const slice = turnSlicer();
 * for (const rule of rules) {
 *   compiled.push(compileRule(rule));
 *   await slice();
 * }
 * ```
 */
export function turnSlicer(sliceMs = TURN_SLICE_MS): () => Promise<void> | undefined {
  let turnStarted = performance.now();
  return () => {
    if (performance.now() - turnStarted < sliceMs) return undefined;
    return nextTurn().then(() => {
      turnStarted = performance.now();
    });
  };
}
