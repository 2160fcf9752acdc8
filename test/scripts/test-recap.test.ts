import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The end of npm test's output names every failure of every run, however much the runs printed
 * after it: CI shows only the last lines. Runs scripts/test-run.sh (node's test runner with the
 * project's reporter, as scripts/test.sh runs it) on test files that fail on purpose, then
 * scripts/test-recap.mjs, npm test's last step, and reads the last 60 lines of what they printed.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CI_TAIL = 60;

const FIXTURES = {
  'failing.test.mjs': `import assert from 'node:assert/strict';
import { test } from 'node:test';
test('passes', () => {});
test('adds up', () => {
  assert.equal(1 + 1, 3, 'one and one make three');
});
`,
  'exiting.test.mjs': `console.error('about to exit with 3');
process.exit(3);
`,
  // What the later runs do to CI's tail: ~40 copies of a nine-line warning.
  'noisy.test.mjs': `import { test } from 'node:test';
test('warns a lot', () => {
  for (let copy = 0; copy < 40; copy++) console.error('a warning\\n'.repeat(9));
});
`,
  // Run through tsx, as the end-to-end files are: its line is the TypeScript's.
  'typed.test.ts': `import assert from 'node:assert/strict';
import { test } from 'node:test';

const expected: number = 3;
test('fails on its own line', () => {
  assert.equal(1 + 1, expected);
});
`,
  // The runner itself dies (an OOM kill, a CI timeout): no closing lines, only its exit status.
  'killing.test.mjs': `import { test } from 'node:test';
test('kills its runner', () => {
  process.kill(process.ppid, 'SIGKILL');
});
`,
};

describe('npm test ends with every failure of every run', () => {
  let dir = '';
  let logs = '';
  let output = '';
  let recapCode: number | undefined;

  /** One run of test-run.sh from the fixtures' directory, its output appended to what npm test printed. */
  async function testRun(name: string, files: string[]): Promise<void> {
    // Without NODE_TEST_CONTEXT the runner reports as a run of its own, not into this one.
    const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
    const result = await run(
      'bash',
      [join(ROOT, 'scripts/test-run.sh'), logs, name, name, process.execPath, ...files],
      { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { stdout: string }) => error);
    output += result.stdout;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'test-recap-'));
    logs = join(dir, 'logs');
    await run('mkdir', [logs]);
    for (const [file, text] of Object.entries(FIXTURES)) await writeFile(join(dir, file), text);
    await testRun('first', ['failing.test.mjs', 'exiting.test.mjs']);
    await testRun('killed', ['killing.test.mjs']);
    await testRun('typed', ['--import', import.meta.resolve('tsx'), 'typed.test.ts']);
    await testRun('later', ['noisy.test.mjs']);
    const recap = await run(process.execPath, [join(ROOT, 'scripts/test-recap.mjs'), logs]).then(
      (done) => ({ ...done, code: 0 }),
      (error: { stdout: string; code: number }) => error,
    );
    output += recap.stdout;
    recapCode = recap.code;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const tail = () => output.trimEnd().split('\n').slice(-CI_TAIL).join('\n');

  it('names a failed test by run, file:line and name, with its first error lines', () => {
    assert.match(tail(), /^FAIL first: failing\.test\.mjs:4 'adds up'$/m);
    assert.match(tail(), /^--- first: failing\.test\.mjs:4 'adds up'\n.*one and one make three/m);
  });

  it('names the line of the TypeScript source of a file run through tsx', () => {
    assert.match(tail(), /^FAIL typed: typed\.test\.ts:5 'fails on its own line'$/m);
  });

  it('names a test file whose process exited, with the last lines it wrote', () => {
    assert.match(tail(), /^FAIL first: exiting\.test\.mjs \(the file itself\)$/m);
    assert.match(
      tail(),
      /^--- first: exiting\.test\.mjs \(the file itself\)\n.*exited with code 3; its last lines:\n.*about to exit with 3/m,
    );
  });

  it('names a run whose runner was killed before its closing lines', () => {
    assert.match(tail(), /^=== killed: \? passed, \? failed$/m);
    assert.match(tail(), /^FAIL killed: the test runner was killed by SIGKILL before its closing lines$/m);
  });

  it('keeps a line per run and the sum alone on the last line, and fails', () => {
    assert.match(tail(), /^=== first: 1 passed, 2 failed$/m);
    assert.match(tail(), /^=== later: 1 passed, 0 failed$/m);
    assert.equal(tail().split('\n').at(-1), '2 passed, 4 failed');
    assert.equal(recapCode, 1);
  });

  it('is what scripts/test.sh prints last', async () => {
    const script = (await readFile(join(ROOT, 'scripts/test.sh'), 'utf8')).trimEnd().split('\n');
    assert.match(script.at(-2) ?? '', /^node scripts\/test-recap\.mjs "\$logs"/);
  });
});

describe('npm test in one process: a line per file all the same', () => {
  const inOneProcessFlag = Number(process.versions.node.split('.')[0]) >= 22;

  /** test-run.sh in `dir` with the fixtures named, in one process the way `mode` says. */
  async function runTogether(
    mode: 'isolation none' | 'direct',
    files: (keyof typeof FIXTURES | 'hanging.test.mjs')[],
    extraEnv: Record<string, string> = {},
  ): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'test-run-one-process-'));
    try {
      const texts: Record<string, string> = {
        ...FIXTURES,
        'hanging.test.mjs': `import { test } from 'node:test';
test('finishes', () => {});
test('never ends', () => new Promise((resolve) => setTimeout(resolve, 600_000)));
`,
      };
      for (const file of files) await writeFile(join(dir, file), texts[file] ?? '');
      const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
      const runner =
        mode === 'direct' ? [join(ROOT, 'scripts/test-in-one-process.mjs')] : ['--experimental-test-isolation=none'];
      const result = await run(
        'bash',
        [join(ROOT, 'scripts/test-run.sh'), dir, 'together', 'together', process.execPath, ...runner, ...files],
        {
          cwd: dir,
          env: { ...env, ...extraEnv, ...(mode === 'direct' ? { TEST_RUN_IN_ONE_PROCESS: '1' } : {}) },
          maxBuffer: 16 * 1024 * 1024,
        },
      ).catch((error: { stdout: string }) => error);
      return result.stdout;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  const fileLines = (stdout: string) =>
    stdout
      .split('\n')
      .filter((text) => /^\[together\] (ok|fail) +[\d.]+ s {2}/.test(text))
      .map((text) => text.replace(/ +[\d.]+ s {2}/, ' '));

  for (const mode of ['isolation none', 'direct'] as const) {
    // Node 20 has no --experimental-test-isolation: npm test runs its files through test-in-one-process.mjs.
    const skip = mode === 'isolation none' && !inOneProcessFlag;
    it(`says each file with its outcome, in order, and the failure in it (${mode})`, { skip }, async () => {
      const stdout = await runTogether(mode, ['failing.test.mjs', 'noisy.test.mjs']);
      assert.deepEqual(fileLines(stdout), ['[together] fail failing.test.mjs', '[together] ok noisy.test.mjs']);
      assert.match(stdout, /^\[together\] FAIL failing\.test\.mjs:4 'adds up'$/m);
    });
  }

  it('fails a direct run where no test ends for TEST_RUN_STALL_MS, naming the test, where node would wait for it', async () => {
    const stdout = await runTogether('direct', ['noisy.test.mjs', 'hanging.test.mjs'], { TEST_RUN_STALL_MS: '1500' });
    assert.deepEqual(fileLines(stdout), ['[together] ok noisy.test.mjs']);
    assert.match(
      stdout,
      /^\[together\] FAIL hanging\.test\.mjs 'never ends'\n\[together\] {5}no test started or ended for [\d.]+ s \(TEST_RUN_STALL_MS=1500; without --test node applies no --test-timeout\)$/m,
    );
    assert.match(stdout, /^# fail 1$/m);
  });
});
