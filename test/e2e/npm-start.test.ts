import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { stat, utimes } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MAIN_JS } from '../support/adapter-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm start', () => {
  it('does not build again when dist/ is newer than src/', async () => {
    const now = new Date();
    await utimes(MAIN_JS, now, now);
    const before = (await stat(MAIN_JS)).mtimeMs;
    const { stdout } = await promisify(execFile)('npm', ['start', '--silent', '--', '--version'], { cwd: ROOT });
    assert.match(stdout, /^hpa-metrics-adapter \d+\.\d+\.\d+/);
    assert.equal((await stat(MAIN_JS)).mtimeMs, before, 'tsc rewrote dist/main.js');
  });
});
