import { RE2JS } from 're2js';

/**
 * Every pattern the config takes (prometheus-adapter's `seriesFilters` and `name.matches`,
 * upstreams' `metrics.matching`) runs on RE2: linear in the input whatever the pattern, so an
 * operator's `(a|aa)+` cannot hold the event loop for seconds as a backtracking RegExp does, and
 * with Go's syntax and meaning (`(?P<name>…)`, `\Q…\E`, `[[:alpha:]]`, inline flags anywhere,
 * `\d` ASCII only), which is what prometheus-adapter's users have written. A pattern keeps no state
 * between calls (each call takes a matcher from its pool and returns it before it ends): one
 * compiled pattern may serve many rules.
 */
export interface Re2Pattern {
  /** The pattern matches somewhere in the input. */
  test(input: string): boolean;
  /** The pattern matches the entire input. */
  testExact(input: string): boolean;
  /** Like RegExp.exec: [whole, group 1, …] (null for a group that took no part) and named `groups`. */
  exec(input: string): Re2Match | null;
  /** Capture groups, as Go's NumSubexp counts them. */
  groupCount(): number;
}

export interface Re2Match {
  readonly [group: number]: string | null | undefined;
  readonly groups?: Readonly<Record<string, string | null | undefined>>;
}

export class Re2SyntaxError extends Error {}

export function compileRe2(pattern: string): Re2Pattern {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    throw new Re2SyntaxError(`invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`);
  }
}
