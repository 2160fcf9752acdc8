// @ts-check
// The one reporter npm test uses on every Node (20's default is TAP, 24's is spec): a line per
// finished file with its time, each failure as it happens and again at the end, a line saying
// what is running whenever nothing was printed for PROGRESS_EVERY_MS, and node's own closing
// lines ("# pass N", "# fail N"), which CI reads. When runs overlap, each line but the closing
// ones starts with the run's TEST_RUN_LABEL. With TEST_FAILURES_FILE set, each failure is also
// appended to that file as one JSON line the moment it is seen (so a runner killed later leaves
// those it saw), for scripts/test-recap.mjs to repeat at the very end of npm test. JavaScript, not
// TypeScript: Node 20 loads reporters before tsx's hooks are in place.
// With --experimental-test-isolation=none, or on Node 20 through scripts/test-in-one-process.mjs
// (one process for many files, scripts/test.sh), no event stands for a file: the files run one
// after another, so a file's line comes when the first test of the next one starts, and what the
// tests print goes straight to stdout, unlabelled. The latter runs without --test, where node
// applies no --test-timeout: this reporter then fails the run when no test started or ended for
// TEST_RUN_STALL_MS, naming the test that was running.
import { appendFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';

const PROGRESS_EVERY_MS = 10_000;
const TICK = Symbol('tick');
const LABEL = process.env.TEST_RUN_LABEL ? `[${process.env.TEST_RUN_LABEL}] ` : '';
const FAILURES_FILE = process.env.TEST_FAILURES_FILE;
/** The lines a file wrote last, kept for the recap of a file whose process ended without a failing test. */
const KEPT_OUTPUT_LINES = 10;
const KEPT_LINE_CHARS = 300;

/** @typedef {import('node:test/reporters').TestEvent} TestEvent */
/** @typedef {{ startedAt: number, current: string | undefined }} RunningFile */
/** @typedef {{ name: string, nesting: number, file?: string, line?: number }} Located */
/** @typedef {{ file: string, line?: number, test?: string, error: string }} FailureRecord */

/** @param {number} ms */
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
/**
 * The file as the repository names it: npm test's compiled unit files (.cache/js/) by their path there.
 * @param {string | undefined} file
 */
const shown = (file) =>
  file === undefined ? '(no file)' : relative(process.cwd(), file).replace(/^\.cache\/js\//, '');

/**
 * A file's own events (the test wrapping everything the file declares) carry the file as their
 * name: the absolute path on Node 20, the path as given on the command line on 22 and later.
 * @param {Located} data
 */
const isFileEvent = (data) => data.nesting === 0 && data.file !== undefined && resolve(data.name) === data.file;

/** Whether node runs the tests without --test, in this process (scripts/test-in-one-process.mjs). */
const DIRECT_RUN = !process.execArgv.includes('--test');
/** Whether this runner runs many files in one process (the reporter runs in the runner's). */
const IN_ONE_PROCESS =
  DIRECT_RUN || process.execArgv.some((flag) => /^--(experimental-)?test-isolation=none$/.test(flag));
/**
 * In a direct run node applies no --test-timeout (a test's own timeout option still holds), so a
 * test without one that never ends would hold the run until CI's own limit: this reporter fails the
 * run when no test started or ended for TEST_RUN_STALL_MS (scripts/test-run.sh sets it above the
 * longest timeout a unit test sets itself).
 */
const STALL_MS = (DIRECT_RUN && Number(process.env.TEST_RUN_STALL_MS)) || Number.POSITIVE_INFINITY;

/**
 * What failed: the error a test threw (node wraps it, as the cause of an ERR_TEST_FAILURE); for a
 * test file whose process ended without a test failing (a crash, process.exit, a signal such as
 * the OOM killer's), node's own 'test failed' with the exit code or signal it carries beside it.
 * @param {unknown} error
 * @param {string} [wrote] where to find what the file's process wrote, told after how it ended
 */
function describeError(error, wrote = ' (what it wrote is above)') {
  const { cause, exitCode, signal } = /** @type {{ cause?: unknown, exitCode?: unknown, signal?: unknown }} */ (
    error ?? {}
  );
  const ended =
    typeof signal === 'string'
      ? `the test process was killed by ${signal}${wrote}`
      : typeof exitCode === 'number'
        ? `the test process exited with code ${exitCode}${wrote}`
        : undefined;
  const told =
    error instanceof Error && cause instanceof Error
      ? cause
      : error instanceof Error && ended
        ? ended
        : (cause ?? error);
  return (typeof told === 'string' ? told : inspect(told, { depth: 4, colors: false, breakLength: 100 }))
    .split('\n')
    .map((text) => `    ${text}`)
    .join('\n');
}

/**
 * @param {AsyncIterable<TestEvent>} source
 * @returns {AsyncGenerator<string, void>}
 */
export default async function* progressReporter(source) {
  const startedAt = Date.now();
  /** @type {Map<string, RunningFile>} */
  const running = new Map();
  /** @type {string[]} */
  const failures = [];
  /** Files a failure was reported for, so that their own failure ('test failed') is not told again. */
  const failedFiles = new Set();
  /** @type {Map<string | undefined, string[]>} */
  const lastOutput = new Map();
  /** @type {string[]} */
  const closing = [];
  const events = source[Symbol.asyncIterator]();
  let lastLineAt = startedAt;
  /** When a test last started or ended, for STALL_MS. */
  let lastProgressAt = startedAt;
  let nextEvent = events.next();
  /** When to look again: the next progress line, or a direct run's timeout, whichever is sooner. */
  const nextTick = (/** @type {number} */ now) =>
    sleep(Math.max(1000, Math.min(lastLineAt + PROGRESS_EVERY_MS, lastProgressAt + STALL_MS) - now), TICK, {
      ref: false,
    });
  let tick = nextTick(startedAt);

  /** @param {string} text */
  const line = (text) => {
    lastLineAt = Date.now();
    return `${text
      .split('\n')
      .map((part) => LABEL + part)
      .join('\n')}\n`;
  };
  /**
   * A finished file's line: its time and whether a test in it failed.
   * @param {string} file
   * @param {boolean} passed
   */
  const fileLine = (file, passed) => {
    const state = running.get(file);
    running.delete(file);
    const took = state === undefined ? '' : seconds(Date.now() - state.startedAt);
    return line(`${passed ? 'ok  ' : 'fail'} ${took.padStart(7)}  ${shown(file)}`);
  };
  /** In one process, the file whose tests run now. @type {string | undefined} */
  let currentFile;
  /**
   * A direct run where no test started or ended for STALL_MS: the running test is
   * told as failed, and the process ends with status 1 once the lines are out (ending the
   * reporter's stream instead would have node throw an AbortError, and wait for the test).
   * @param {number} now
   */
  const timedOut = async function* (now) {
    const file = currentFile ?? '(no file)';
    const test = running.get(file)?.current ?? '(no test)';
    const error = `no test started or ended for ${seconds(now - lastProgressAt)} (TEST_RUN_STALL_MS=${STALL_MS}; without --test node applies no --test-timeout)`;
    /** @type {FailureRecord} */
    const record = { file: shown(file), test, error: `    ${error}` };
    if (FAILURES_FILE !== undefined) appendFileSync(FAILURES_FILE, `${JSON.stringify(record)}\n`);
    failures.push(`FAIL ${shown(file)} '${test}'\n    ${error}`);
    yield line(`${failures.length} failed:\n${failures.join('\n')}`);
    yield '# fail 1\n';
    await sleep(500);
    process.exit(1);
  };

  for (;;) {
    const next = await Promise.race([nextEvent, tick]);
    if (next === TICK) {
      const now = Date.now();
      if (now - lastProgressAt >= STALL_MS) {
        yield* timedOut(now);
      }
      if (now - lastLineAt >= PROGRESS_EVERY_MS - 500) {
        const files = [...running].map(([file, state]) => {
          const test = state.current === undefined ? '' : `, at '${state.current}'`;
          return `${shown(file)} (${seconds(now - state.startedAt)}${test})`;
        });
        yield line(
          `..   ${seconds(now - startedAt)} in, running ${files.length === 0 ? 'nothing yet' : files.join('; ')}`,
        );
      }
      tick = nextTick(now);
      continue;
    }
    if (next.done) break;
    nextEvent = events.next();
    const event = next.value;
    if (event.type === 'test:dequeue' || event.type === 'test:complete') lastProgressAt = Date.now();
    switch (event.type) {
      // A file's own dequeue and complete come as they happen; the events of the tests in it
      // may come later (Node holds them back while files listed before it are reported), so a
      // file's line says its time and outcome, and failures are told from test:fail, which
      // comes after those of the tests in the file.
      case 'test:dequeue': {
        const data = event.data;
        if (data.file === undefined) break;
        if (IN_ONE_PROCESS && data.nesting === 0 && data.file !== currentFile) {
          if (currentFile !== undefined) yield fileLine(currentFile, !failedFiles.has(currentFile));
          currentFile = data.file;
          running.set(data.file, { startedAt: Date.now(), current: undefined });
        }
        const state = running.get(data.file);
        if (isFileEvent(data)) running.set(data.file, { startedAt: Date.now(), current: undefined });
        else if (state) state.current = data.name;
        break;
      }
      case 'test:complete': {
        const data = event.data;
        if (!isFileEvent(data) || data.file === undefined) break;
        yield fileLine(data.file, data.details.passed);
        break;
      }
      case 'test:fail': {
        const data = event.data;
        const error = data.details.error;
        // A suite, a test or a file fails with 'subtestsFailed' when a test inside it did: told there.
        if (/** @type {{ failureType?: string }} */ (error).failureType === 'subtestsFailed') break;
        const ofFile = isFileEvent(data);
        if (ofFile && failedFiles.has(data.file)) break;
        failedFiles.add(data.file);
        const where = ofFile
          ? `${shown(data.file)} (the file itself)`
          : `${shown(data.file)}:${data.line ?? '?'} '${data.name}'`;
        const failure = `FAIL ${where}\n${describeError(error)}`;
        failures.push(failure);
        if (FAILURES_FILE !== undefined) {
          const wrote = (ofFile && lastOutput.get(data.file)) || [];
          /** @type {FailureRecord} */
          const record = {
            file: shown(data.file),
            ...(ofFile ? {} : { line: data.line, test: data.name }),
            error: [
              describeError(error, wrote.length > 0 ? '; its last lines:' : ''),
              ...wrote.map((text) => `    | ${text}`),
            ].join('\n'),
          };
          appendFileSync(FAILURES_FILE, `${JSON.stringify(record)}\n`);
        }
        yield line(failure);
        break;
      }
      case 'test:stdout':
      case 'test:stderr': {
        const text = event.data.message.trimEnd();
        // The file as given on the command line on Node 22 and later, absolute in its other events.
        const file = event.data.file === undefined ? undefined : resolve(event.data.file);
        const kept = lastOutput.get(file) ?? [];
        const newest = text.split('\n').slice(-KEPT_OUTPUT_LINES);
        kept.push(...newest.map((part) => part.slice(0, KEPT_LINE_CHARS)));
        lastOutput.set(file, kept.slice(-KEPT_OUTPUT_LINES));
        yield line(text);
        break;
      }
      case 'test:diagnostic': {
        const data = event.data;
        if (data.file === undefined && data.nesting === 0) closing.push(`# ${data.message}`);
        else yield line(`#    ${shown(data.file)}: ${data.message}`);
        break;
      }
      default:
        break;
    }
  }

  if (currentFile !== undefined) yield fileLine(currentFile, !failedFiles.has(currentFile));
  if (failures.length > 0) yield line(`${failures.length} failed:\n${failures.join('\n')}`);
  yield `${closing.join('\n')}\n`;
}
