import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAIN_JS } from '../support/adapter-process.js';

/** Runs dist/main.js to its exit, as a user at a terminal does. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject).on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('fatal start-up errors', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'startup-errors-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('prints a YAML error readably on stderr, caret under the line, besides the JSON log line', async () => {
    const config = join(dir, 'broken.yaml');
    await writeFile(
      config,
      'static:\n  external:\n    - metric: q\n      series:\n        - labels: { queue: jobs\n          value: 1\n',
    );
    const { code, stdout, stderr } = await run(['--secure-port=0', `--config=${config}`]);
    assert.equal(code, 2);
    const log = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { level?: string; msg?: string };
    assert.equal(log.level, 'fatal');
    assert.match(log.msg ?? '', /^cannot start: config file .*invalid YAML/);
    assert.match(stderr, /^hpa-metrics-adapter: cannot start: config file .*broken\.yaml: invalid YAML: /);
    assert.match(stderr, /\n {8}- labels: \{ queue: jobs\n {10}value: 1\n {10}\^\n$/, 'the snippet keeps its lines');
  });

  it('says which known key an unknown one was probably meant to be', async () => {
    const config = join(dir, 'typo.yaml');
    await writeFile(config, 'static:\n  externl:\n    - metric: q\n      series: [{ value: 1 }]\n');
    const { code, stderr } = await run(['--secure-port=0', `--config=${config}`]);
    assert.equal(code, 2);
    assert.equal(
      stderr,
      `hpa-metrics-adapter: cannot start: config file ${config}: field static: Unrecognized key: "externl" (did you mean "external"?)\n`,
    );
  });

  it('prints a flag error on stderr too', async () => {
    const { code, stderr } = await run(['--secure-prot=0']);
    assert.equal(code, 2);
    assert.match(stderr, /^hpa-metrics-adapter: cannot start: .*--secure-prot/);
  });
});
