// @ts-check
// The end of npm test's output, from the runs scripts/test-run.sh left in DIR: a line per run
// (node's own "# pass N" / "# fail N"), then every failure of every run again, each with its first
// lines, then a list naming each in one line, and last the sum alone ("N passed, M failed"),
// which CI reads. CI shows only the tail of the output, and the runs after a failing one push it
// far up: this way the last ~60 lines always say what failed. A run whose runner crashed or was
// killed before its closing lines is a failure of its own, told with the last lines it printed.
// usage: node scripts/test-recap.mjs DIR; exits 1 when anything failed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

const ERROR_LINES = 15;
/** Stack frames inside node itself (the test runner's), which say nothing about what failed. */
const NODE_FRAME = /^\s*at (?:.* \()?node:/;
const LISTED_AT_MOST = 40;

/** @typedef {{ file: string, line?: number, test?: string, error: string }} FailureRecord */
/** @typedef {{ run: string, where: string, error: string }} Failure */

/** @param {string} path */
const readIfThere = (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

/**
 * node's closing line "# NAME N", the last one (a test's own output could hold an earlier one).
 * @param {string} out
 * @param {string} name
 */
function closingCount(out, name) {
  const found = [...out.matchAll(new RegExp(`^# ${name} (\\d+)$`, 'gm'))].at(-1);
  return found === undefined ? undefined : Number(found[1]);
}

/** @param {number} status */
function describeStatus(status) {
  const signal = Object.entries(constants.signals).find(([, number]) => number === status - 128)?.[0];
  return status > 128 && signal !== undefined ? `was killed by ${signal}` : `exited with code ${status}`;
}

/**
 * What went wrong with the runner itself, if anything: no status (it never ended), a signal, or
 * an exit status that its closing lines do not explain.
 * @param {string | undefined} statusText
 * @param {number | undefined} failedCount
 */
function runnerProblem(statusText, failedCount) {
  if (statusText === undefined) return 'the test runner left no exit status (it never ended, or npm test was stopped)';
  const status = Number(statusText.trim());
  if (failedCount === undefined) return `the test runner ${describeStatus(status)} before its closing lines`;
  if (status > 128) return `the test runner ${describeStatus(status)}`;
  if (status !== 0 && failedCount === 0) return `the test runner ${describeStatus(status)} though no test failed`;
  return undefined;
}

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: node scripts/test-recap.mjs DIR\n');
  process.exit(2);
}
const runs = readdirSync(dir)
  .filter((name) => name.endsWith('.out'))
  .map((name) => name.slice(0, -'.out'.length))
  .sort();
/** @type {string[]} */
const lines = [];
/** @type {Failure[]} */
const failures = [];
let passed = 0;
let failed = 0;
for (const run of runs) {
  const out = readFileSync(join(dir, `${run}.out`), 'utf8');
  const runPassed = closingCount(out, 'pass');
  const runFailed = closingCount(out, 'fail');
  lines.push(`=== ${run}: ${runPassed ?? '?'} passed, ${runFailed ?? '?'} failed`);
  /** @type {FailureRecord[]} */
  const records = (readIfThere(join(dir, `${run}.failures`)) ?? '')
    .split('\n')
    .filter((text) => text !== '')
    .map((text) => JSON.parse(text));
  for (const record of records) {
    const test = record.test === undefined ? ' (the file itself)' : `:${record.line ?? '?'} '${record.test}'`;
    failures.push({ run, where: `${record.file}${test}`, error: record.error });
  }
  const problem = runnerProblem(readIfThere(join(dir, `${run}.status`)), runFailed);
  const lastLines = out.trimEnd().split('\n').slice(-ERROR_LINES);
  if (problem !== undefined) {
    const printed = out.trim() === '' ? ['    (it printed nothing)'] : lastLines.map((text) => `    | ${text}`);
    failures.push({ run, where: problem, error: printed.join('\n') });
  } else if ((runFailed ?? 0) > records.length) {
    failures.push({
      run,
      where: `${runFailed} failed, ${records.length} told by the reporter`,
      error: `    see ${join(dir, `${run}.out`)}`,
    });
  }
  passed += runPassed ?? 0;
  failed += Math.max(runFailed ?? Math.max(1, records.length), problem === undefined ? 0 : 1);
}
if (failures.length > 0) {
  lines.push(`=== ${failures.length} failed (each run's whole output: ${join(dir, 'RUN.out')}):`);
  for (const { run, where, error } of failures) {
    const errorLines = error.split('\n').filter((text) => !NODE_FRAME.test(text));
    lines.push(`--- ${run}: ${where}`, ...errorLines.slice(0, ERROR_LINES));
    if (errorLines.length > ERROR_LINES) lines.push(`    … ${errorLines.length - ERROR_LINES} more lines`);
  }
  lines.push('=== what failed:');
  for (const { run, where } of failures.slice(0, LISTED_AT_MOST)) lines.push(`FAIL ${run}: ${where}`);
  if (failures.length > LISTED_AT_MOST) lines.push(`… and ${failures.length - LISTED_AT_MOST} more, told above`);
}
lines.push(`${passed} passed, ${failed} failed`);
process.stdout.write(`${lines.join('\n')}\n`);
process.exitCode = failed > 0 ? 1 : 0;
