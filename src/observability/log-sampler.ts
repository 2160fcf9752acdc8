/**
 * Lets at most `perWindow` log lines of one kind through per window, then counts the rest and
 * reports the count once the next line is let through: a flood of bad requests (a fuzzer, a
 * broken client) must not flood the log, but must still show up in it.
 */
export interface LogSampler {
  /** Whether to log this one; when true, `suppressed` is how many were dropped since the last one logged. */
  admit(): { log: false } | { log: true; suppressed: number };
  /**
   * admit() as the fields to add to the line: undefined when it is dropped, else `{}`, or
   * `{ suppressedSinceLastLogged }` when lines were dropped since the last one logged.
   */
  fields(): { suppressedSinceLastLogged?: number } | undefined;
}

export function createLogSampler(perWindow: number, windowMs: number, now: () => number = Date.now): LogSampler {
  let windowStart = Number.NEGATIVE_INFINITY;
  let admitted = 0;
  let suppressed = 0;
  const sampler: LogSampler = {
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
    fields() {
      const sampled = sampler.admit();
      if (!sampled.log) return undefined;
      return sampled.suppressed > 0 ? { suppressedSinceLastLogged: sampled.suppressed } : {};
    },
  };
  return sampler;
}
