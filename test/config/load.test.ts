import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parseFlags } from '../../src/cli/flags.js';
import { defaultConfig, loadConfigFile, parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { ConfigError } from '../../src/schema/errors.js';
import { startBackends } from '../../src/startup/backends.js';

function refusal(yaml: string): string {
  try {
    parseConfig(yaml, 'adapter.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('the config was accepted');
}

describe('config file validation', () => {
  it('the built-in default config is valid and serves demo metrics', () => {
    const config = defaultConfig();
    assert.equal(config.static?.external[0]?.metric, 'demo-queue-depth');
  });

  it('names the file, the field path and the problem for a wrong type', () => {
    assert.match(
      refusal(
        'static:\n  custom:\n    - metric: m\n      resource: pods\n      objects:\n        - { name: a, value: "ten" }\n',
      ),
      /^config file adapter\.yaml: field static\.custom\[0\]\.objects\[0\]\.value: .*expected number/,
    );
  });

  it('refuses unknown keys, naming them (a typo must not be silently ignored)', () => {
    assert.match(refusal('statik: {}\n'), /field \(top level\): .*"statik"/);
    assert.match(refusal('static:\n  external:\n    - metric: m\n      serie: []\n'), /static\.external\[0\].*"serie"/);
  });

  it('suggests the known key one edit away from an unknown one, at any depth', () => {
    assert.match(refusal('static:\n  externl: []\n'), /field static: .*"externl" \(did you mean "external"\?\)/);
    assert.match(refusal('upstream: []\n'), /\(top level\): .*"upstream" \(did you mean "upstreams"\?\)/);
    assert.match(
      refusal(
        'prometheus:\n  url: http://p\n  rules:\n    - { seriesQuery: up, metricsQuery: up, seriesFilter: [] }\n',
      ),
      /prometheus\.rules\[0\]: .*"seriesFilter" \(did you mean "seriesFilters"\?\)/,
    );
    assert.match(
      refusal('static:\n  external:\n    - metric: m\n      seris: []\n'),
      /static\.external\[0\]: .*"seris" \(did you mean "series"\?\)/,
    );
  });

  it('offers no suggestion for an unknown key two edits or more from every known one', () => {
    assert.doesNotMatch(refusal('metrics: {}\n'), /did you mean/);
    assert.doesNotMatch(refusal('static:\n  custom: []\n  colour: 1\n'), /did you mean/);
  });

  it('reports YAML syntax errors with the position', () => {
    assert.match(refusal('static: [\n'), /invalid YAML: .*at line \d+, column \d+/);
  });

  it('quotes no control character of a binary file in its YAML error, only its escape', () => {
    const message = refusal('static: [\u0001\u001b[31m\u0000\u0085\n  - a\n: b\n');
    assert.match(message, /invalid YAML/);
    assert.doesNotMatch(message, /(?![\n\t])\p{Cc}/u);
    assert.match(message, /\\u001b/, message);
  });

  it('refuses duplicate keys', () => {
    assert.match(refusal('static: {}\nstatic: {}\n'), /invalid YAML/);
  });

  it('refuses non-finite static values', () => {
    assert.match(
      refusal('static:\n  external:\n    - metric: m\n      series: [{ value: .inf }]\n'),
      /series\[0\]\.value: .*Infinity/,
    );
  });

  it('parses an empty text as an empty config (the file loader and the backends refuse it)', () => {
    assert.deepEqual(parseConfig('', 'empty.yaml'), {});
  });
});

describe('config files that cannot be served', () => {
  async function withFile<T>(text: string, use: (path: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'config-load-'));
    try {
      const path = join(dir, 'config.yaml');
      await writeFile(path, text);
      return await use(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  for (const [what, text] of [
    ['empty', ''],
    ['blank', '\n  \n'],
    ['only comments', '# nothing here\n# at all\n'],
  ]) {
    it(`refuses a file that is ${what}`, async () => {
      await withFile(text as string, (path) =>
        assert.rejects(loadConfigFile(path), (error) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.message, `config file ${path}: empty; it must configure at least one backend`);
          return true;
        }),
      );
    });
  }

  it('refuses a file larger than --config-max-bytes unread, naming the flag; a larger bound admits it', async () => {
    const text = `static:\n  external:\n    - metric: m\n      series: [{ value: 1 }]\n# ${'x'.repeat(2048)}\n`;
    await withFile(text, async (path) => {
      await assert.rejects(loadConfigFile(path, 1024), (error) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.message, `config file ${path}: larger than 1 KiB (--config-max-bytes); not read`);
        return true;
      });
      const flags = parseFlags(['--config-max-bytes=4Ki']);
      assert.equal(flags.configMaxBytes, 4096);
      assert.equal((await loadConfigFile(path, flags.configMaxBytes)).static?.external[0]?.metric, 'm');
    });
    assert.equal(parseFlags([]).configMaxBytes, 1024 * 1024, 'the default is a ConfigMap`s own limit');
    assert.throws(() => parseFlags(['--config-max-bytes=lots']), /--config-max-bytes: expected a positive number/);
  });

  it('refuses a config that turns on no backend on reload; at start it serves discovery only', async () => {
    const deps = () => ({ flags: parseFlags([]), logger: silentLogger(), registry: new Registry() });
    const empty = await startBackends(parseConfig('cache:\n  default: { ttl: 20s }\n', 'c.yaml'), deps());
    try {
      assert.equal(empty.router.current.length, 0);
      await assert.rejects(empty.apply(parseConfig('', 'empty.yaml')), {
        name: 'Error',
        message:
          'the config turns on no backend: add a static, prometheus (url and rules), sqs or cloudwatch section, or upstreams',
      });
    } finally {
      await empty.close();
    }
    const running = await startBackends(defaultConfig(), deps());
    try {
      await assert.rejects(running.apply(parseConfig('', 'empty.yaml')), ConfigError);
      assert.equal(running.router.current.length, 1, 'the running backends stay');
    } finally {
      await running.close();
    }
  });
});
