import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './render.js';

/**
 * `npm test` on a machine without kubectl: every test that needs it skips, saying so, instead of
 * failing. Runs the kubectl-dependent unit files under a PATH that has every tool but kubectl.
 */

const run = promisify(execFile);
/**
 * Run as npm test runs the unit files (compiled, from .cache/js/), the files run as the JavaScript
 * beside them too: through tsx they cost this test 18 CPU seconds per Node instead of 10.
 */
const COMPILED = import.meta.url.endsWith('.js');
const LOADER = COMPILED ? ['--enable-source-maps'] : ['--import', 'tsx'];
const FILES = [
  ...readdirSync(join(ROOT, 'test/deploy'))
    .filter((f) => f.endsWith('.test.ts') && f !== 'without-kubectl.test.ts')
    .map((f) => `test/deploy/${f}`),
  'test/api/resource-table.test.ts',
  'test/server/routes/aggregated-discovery.test.ts',
  'test/kube/cluster-resources.test.ts',
]
  .filter((f) => existsSync(join(ROOT, f)))
  .map((f) => (COMPILED ? f.replace(/\.ts$/, '.js') : f));

/** A directory holding a link to every program on PATH except kubectl. */
function pathWithoutKubectl(): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'no-kubectl-'));
  for (const entry of (process.env.PATH ?? '').split(':').filter((d) => d && existsSync(d))) {
    for (const name of readdirSync(entry)) {
      if (name === 'kubectl' || name.startsWith('kubectl.') || existsSync(join(dir, name))) continue;
      symlinkSync(join(entry, name), join(dir, name));
    }
  }
  return { path: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('without kubectl', () => {
  // Fourteen files a process each: past 300 s at nice 10 beside the end-to-end run on a loaded machine.
  it('every kubectl-dependent test skips loudly, none fails', { timeout: 900_000 }, async (t) => {
    const shadow = pathWithoutKubectl();
    try {
      // Without NODE_TEST_CONTEXT the child reports as a run of its own, not into this one.
      const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
      const result = await run(process.execPath, [...LOADER, '--test', '--test-reporter=tap', ...FILES], {
        cwd: ROOT,
        env: { ...env, PATH: shadow.path },
        maxBuffer: 64 * 1024 * 1024,
      }).catch((error: { stdout: string; code: number }) => error);
      const fail = /^# fail (\d+)/m.exec(result.stdout)?.[1];
      const skipped = /^# skipped (\d+)/m.exec(result.stdout)?.[1];
      t.diagnostic(`${FILES.length} files: ${skipped} skipped, ${fail} failed`);
      const failures = result.stdout.split('\n').filter((l) => /^\s*not ok/.test(l));
      assert.equal(fail, '0', failures.join('\n'));
      assert.ok(Number(skipped) > 0, 'the kubectl tests were skipped');
      assert.match(result.stdout, /# SKIP kubectl not found/);
    } finally {
      shadow.cleanup();
    }
  });
});
