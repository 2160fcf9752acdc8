import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { createPrometheusClient } from '../../../src/providers/prometheus/client.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import { ConfigError } from '../../../src/schema/errors.js';

/** A Prometheus URL the client could not use is a ConfigError naming its field or flag, and never shows the password. */

const RULES = `
  rules:
  - seriesQuery: up
    metricsQuery: up`;

function settingsError(yaml: string, flags: { prometheusUrl?: string } = {}): string {
  try {
    resolvePrometheusSettings(parseConfig(yaml, 't.yaml').prometheus, flags);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

describe('Prometheus URLs: what the client cannot use is a config error', () => {
  it('a malformed %-escape in the user name or password names the field', () => {
    assert.match(
      settingsError(`prometheus:\n  url: http://us%zzer:pw@127.0.0.1:9090${RULES}`),
      /^field prometheus\.url: the user name or password in the URL has a malformed %-escape/,
    );
    assert.match(
      settingsError(
        `prometheus:\n  servers:\n  - name: a\n    url: http://127.0.0.1:9090\n  - name: b\n    url: http://u:p%zz@127.0.0.1:9091${RULES}`,
      ),
      /^field prometheus\.servers\[1\]\.url: the user name or password in the URL has a malformed %-escape/,
    );
    assert.match(
      settingsError(`prometheus:${RULES}`, { prometheusUrl: 'http://u:%E0%A4@127.0.0.1:9090' }),
      /^--prometheus-url: the user name or password in the URL has a malformed %-escape/,
    );
  });

  it('the client refuses such a URL with an Error, not a URIError', () => {
    assert.throws(
      () => createPrometheusClient({ url: 'http://u:p%zz@127.0.0.1:9090', timeoutMs: 1000 }),
      (error: unknown) =>
        !(error instanceof URIError) &&
        /^prometheus URL http:\/\/u:\*\*\*@127\.0\.0\.1:9090: the user name or password has a malformed %-escape/.test(
          (error as Error).message,
        ),
    );
  });

  it('a scheme other than http(s) names the server field', () => {
    assert.match(
      settingsError(`prometheus:\n  servers:\n  - name: a\n    url: ftp://127.0.0.1:9${RULES}`),
      /^field prometheus\.servers\[0\]\.url: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/127\.0\.0\.1:9"/,
    );
  });

  it('the message does not show the password', () => {
    const message = settingsError(`prometheus:\n  url: ftp://reader:s3cret@127.0.0.1:9${RULES}`);
    assert.match(message, /^field prometheus\.url: expected an http:\/\/ or https:\/\/ URL/);
    assert.doesNotMatch(message, /s3cret/);
    assert.doesNotMatch(settingsError(`prometheus:${RULES}`, { prometheusUrl: 'ftp://reader:s3cret@h:9' }), /s3cret/);
  });
});
