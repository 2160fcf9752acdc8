/**
 * The longest delay a Node.js timer keeps, 2^31-1 ms (about 596h): a longer one fires after 1 ms,
 * so a timeout would expire at once and an interval would run in a hot loop.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What every duration message says of the bound, e.g. `expected a duration such as 30s (at most 596h)`. */
export const DURATION_BOUND = 'at most 596h';

/**
 * Go-style durations as prometheus-adapter takes them: `30s`, `1m`, `1h30m`, `500ms`; undefined
 * when malformed or longer than a timer can wait (see MAX_TIMER_MS).
 */
export function parseDuration(text: string): number | undefined {
  const total = parseGoDuration(text);
  return total !== undefined && total <= MAX_TIMER_MS ? total : undefined;
}

function parseGoDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * (units[unit as string] ?? 0);
  }
  return total;
}

// Prometheus's model.Duration (prometheus/common): whole numbers of each unit, largest first, each
// at most once; a year is 365 days, a week 7.
const PROMETHEUS_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const PROMETHEUS_UNITS_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
/** Prometheus holds a duration in int64 nanoseconds and refuses a longer one (about 292 years). */
const PROMETHEUS_MAX_MS = 9_223_372_036_854;

/**
 * A duration as prometheus-adapter reads a `pmodel.Duration` field (resourceRules' `window`):
 * Prometheus's form (`1d`, `2w`, `1y`, `1h30m`, `0`) and, as before, Go's (`1.5h`, `90s`);
 * undefined when it is neither, or longer than Prometheus holds (about 292 years). Not for timers:
 * it has no timer bound (see parseDuration).
 */
export function parsePrometheusDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const parts = text === '' ? null : PROMETHEUS_DURATION.exec(text);
  const total = parts
    ? PROMETHEUS_UNITS_MS.reduce((sum, unit, i) => sum + Number(parts[i + 1] ?? 0) * unit, 0)
    : parseGoDuration(text);
  return total !== undefined && total <= PROMETHEUS_MAX_MS ? total : undefined;
}

/**
 * A duration in Go's `time.Duration` text form (`500ms`, `15s`, `2m0s`, `1h30m0s`), the form
 * users write in flags and config, so messages quote settings the way they were written.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = `${Number(((ms % 60_000) / 1000).toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}
