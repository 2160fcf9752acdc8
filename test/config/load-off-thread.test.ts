import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigFile } from '../../src/config/load.js';
import { OFF_THREAD_MIN_BYTES } from '../../src/config/parse-off-thread.js';
import { ConfigError } from '../../src/schema/errors.js';
import { rulesConfig } from '../support/large-configs.js';
import { loopTurnsDuring } from '../support/loop-turns.js';

async function withFile<T>(text: string, use: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'load-off-thread-'));
  try {
    const path = join(dir, 'config.yaml');
    await writeFile(path, text);
    return await use(path);
  } finally {
    await rm(dir, { recursive: true });
  }
}

describe('a large config file is parsed off the event loop', () => {
  it('the event loop keeps turning while a 0.98 MB file is parsed (it did a handful of turns, for the reads)', async () => {
    const turns = await withFile(rulesConfig(980_000), (path) =>
      loopTurnsDuring(async () => {
        const config = await loadConfigFile(path);
        assert.ok((config.prometheus?.externalRules?.length ?? 0) > 5000);
      }),
    );
    // The parse alone is hundreds of milliseconds even on an idle machine; a turn is microseconds.
    assert.ok(turns > 200, `only ${turns} turns of the event loop while the file was parsed`);
  });

  it("refuses invalid YAML in a large file with the parser's own words, the caret snippet included", async () => {
    const padding = `# ${'x'.repeat(200)}\n`.repeat(Math.ceil(OFF_THREAD_MIN_BYTES / 200));
    const refusal = await withFile(`${padding}static:\n  external: []\nstatic: {}\n`, (path) =>
      loadConfigFile(path).then(
        () => assert.fail('accepted'),
        (error: unknown) => error,
      ),
    );
    assert.ok(refusal instanceof ConfigError);
    assert.match(refusal.message, /invalid YAML: Map keys must be unique/);
    assert.match(refusal.message, /\^/);
  });
});
