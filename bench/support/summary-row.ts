/** A row of the one table `npm run bench` prints: section, what was measured, the result, the goal. */
export type Row = [section: string, measure: string, result: string, goal: string];

/** A goal met or missed. */
export function mark(ok: boolean): string {
  return ok ? '✔' : '✘';
}
