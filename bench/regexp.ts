import { compileRe2 } from '../src/lib/re2.js';
import { round } from './support/stats.js';

/**
 * (i) A config pattern that backtracks: `(a|aa)+` against names of `a`s ending in `b`, which it
 * must refuse. JavaScript's RegExp (what the adapter used before RE2) as the baseline, in the
 * same run: its time grows by the golden ratio per character (≈ 2.6× per two), RE2's by the
 * name's length only. The stall is the event loop's: nothing else runs while a match runs.
 */

export interface RegexpBenchResult {
  pattern: string;
  backtracking: { length: number; ms: number }[];
  re2: { length: number; ms: number }[];
  /** Time at the longest length ÷ time at the shortest, for the lengths both engines ran. */
  growth: { backtracking: number; re2: number; lengths: [number, number] };
}

const PATTERN = '(a|aa)+';

export function runRegexpBench(lengths: readonly number[], re2Only: readonly number[]): RegexpBenchResult {
  const backtracking = new RegExp(`^(?:${PATTERN})$`);
  const re2 = compileRe2(PATTERN);
  const name = (length: number) => `${'a'.repeat(length - 1)}b`;
  const timeOf = (refuse: (input: string) => boolean, length: number) => {
    const input = name(length);
    // RE2 builds its DFA states on first use and V8 compiles hot code: warm up on this input, then
    // keep the fastest of three batches (each at least 10 ms of matches), as other work on the
    // machine only ever adds time.
    refuse(input);
    let best = Number.POSITIVE_INFINITY;
    for (let batch = 0; batch < 3; batch++) {
      const started = performance.now();
      let runs = 0;
      do {
        if (refuse(input)) throw new Error(`${PATTERN} matched ${input}`);
        runs++;
      } while (performance.now() - started < 10);
      best = Math.min(best, (performance.now() - started) / runs);
    }
    return { length, ms: round(best, 4) };
  };
  const slow = lengths.map((length) => timeOf((input) => backtracking.test(input), length));
  const fast = [...lengths, ...re2Only].map((length) => timeOf((input) => re2.testExact(input), length));
  const first = lengths[0] ?? 0;
  const last = lengths.at(-1) ?? 0;
  const ratio = (rows: { length: number; ms: number }[]) =>
    round(
      (rows.find((r) => r.length === last)?.ms ?? 0) / Math.max(rows.find((r) => r.length === first)?.ms ?? 0, 0.001),
      1,
    );
  return {
    pattern: PATTERN,
    backtracking: slow,
    re2: fast,
    growth: { backtracking: ratio(slow), re2: ratio(fast), lengths: [first, last] },
  };
}
