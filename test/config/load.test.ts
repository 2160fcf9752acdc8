import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, defaultConfig, parseConfig } from '../../src/config/load.js';

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

  it('reports YAML syntax errors with the position', () => {
    assert.match(refusal('static: [\n'), /invalid YAML: .*at line \d+, column \d+/);
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

  it('accepts an empty file as an empty config', () => {
    assert.deepEqual(parseConfig('', 'empty.yaml'), {});
  });
});
