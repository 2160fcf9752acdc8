/**
 * The CloudWatch metric-math functions a team's definition may call: those that compute over the
 * definition's own queries, from AWS's "Metric math syntax and functions" table. Left out are the
 * ones that read beyond them or run something: SEARCH, SELECT (Metrics Insights),
 * ANOMALY_DETECTION_BAND, DB_PERF_INSIGHTS, INSIGHT_RULE_METRIC, LAMBDA, SERVICE_QUOTA, and any
 * function AWS adds later until it is judged and listed here. The admin's config file is not
 * judged by this list.
 */
export const DEFINITION_MATH_FUNCTIONS: ReadonlySet<string> = new Set([
  'ABS',
  'AVG',
  'CEIL',
  'CONCAT',
  'DATAPOINT_COUNT',
  'DATE',
  'DAY',
  'DIFF',
  'DIFF_TIME',
  'EPOCH',
  'FILL',
  'FIRST',
  'FLOOR',
  'HOUR',
  'IF',
  'LAST',
  'LOG',
  'LOG10',
  'MAX',
  'METRIC_COUNT',
  'METRICS',
  'MIN',
  'MINUTE',
  'MONTH',
  'PERIOD',
  'RATE',
  'REMOVE_EMPTY',
  'RUNNING_SUM',
  'SLICE',
  'SORT',
  'STDDEV',
  'SUM',
  'TIME_SERIES',
  'YEAR',
]);

// A quoted string (skipped: METRICS("errors") filters by label text), or a name before "(".
const STRING_OR_CALL = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|([A-Za-z_][A-Za-z0-9_]*)\s*\(/g;

/** The first function the expression calls that is not on the list, or undefined when every one is. */
export function unlistedMathFunction(expression: string): string | undefined {
  for (const match of expression.matchAll(STRING_OR_CALL)) {
    const name = match[1];
    if (name !== undefined && !DEFINITION_MATH_FUNCTIONS.has(name.toUpperCase())) return name;
  }
  return undefined;
}
