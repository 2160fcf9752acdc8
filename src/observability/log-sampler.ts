/**
 * Lets at most `perWindow` log lines of one kind through per window, then counts the rest and
 * reports the count once the next line is let through: a flood of bad requests (a fuzzer, a
 * broken client) must not flood the log, but must still show up in it.
 */
export interface LogSampler {
  /** Whether to log this one; when true, `suppressed` is how many were dropped since the last one logged. */
  admit(): { log: false } | { log: true; suppressed: number };
}

export function createLogSampler(perWindow: number, windowMs: number, now: () => number = Date.now): LogSampler {
  let windowStart = Number.NEGATIVE_INFINITY;
  let admitted = 0;
  let suppressed = 0;
  return {
    admit() {
      const at = now();
      if (at - windowStart >= windowMs) {
        windowStart = at;
        admitted = 0;
      }
      if (admitted >= perWindow) {
        suppressed++;
        return { log: false };
      }
      admitted++;
      const dropped = suppressed;
      suppressed = 0;
      return { log: true, suppressed: dropped };
    },
  };
}
