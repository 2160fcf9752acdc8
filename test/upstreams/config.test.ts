import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/schema/errors.js';
import { SERVICE_ACCOUNT_TOKEN_PATH } from '../../src/upstreams/config.js';

const base = `upstreams:
  - name: keda
    url: https://keda-operator-metrics-apiserver.keda:443
    groupVersions: [external.metrics.k8s.io/v1beta1]
`;

describe('upstreams config', () => {
  it('defaults: service-account token, 5 s timeout, 30 s discovery, announced names only, KEDA placeholder skipped, no cache', () => {
    const [u] = parseConfig(base, 't').upstreams ?? [];
    assert.ok(u);
    assert.equal(u.tokenFile, SERVICE_ACCOUNT_TOKEN_PATH);
    assert.equal(u.timeout, 5000);
    assert.equal(u.discoveryInterval, 30_000);
    assert.deepEqual(u.metrics, { announced: true, matching: [], unserved: false });
    assert.deepEqual(u.placeholderResources, ['externalmetrics']);
    assert.equal(u.cache, false);
    assert.equal(u.insecureSkipTLSVerify, false);
  });

  it('no upstreams section: none', () => {
    assert.equal(parseConfig('{}', 't').upstreams, undefined);
  });

  it('patterns match whole names', () => {
    const [u] = parseConfig(`${base}    metrics: { matching: ['s[0-9]+-.*'] }\n`, 't').upstreams ?? [];
    const [pattern] = u?.metrics.matching ?? [];
    assert.ok(pattern);
    assert.equal(pattern.testExact('s0-rabbitmq-orders'), true);
    assert.equal(pattern.testExact('xs0-rabbitmq-orders'), false);
  });

  it('patterns run in linear time: a backtracking one answers at once for a long name', () => {
    // A backtracking engine takes seconds (doubling per character) to refuse this name.
    const [u] = parseConfig(`${base}    metrics: { matching: ['(a|aa)+'] }\n`, 't').upstreams ?? [];
    const [pattern] = u?.metrics.matching ?? [];
    assert.equal(pattern?.testExact(`${'a'.repeat(38)}b`), false);
    assert.equal(pattern?.testExact('a'.repeat(39)), true);
  });

  it('patterns are RE2 with Go syntax, as prometheus-adapter users write them', () => {
    const [u] =
      parseConfig(`${base}    metrics: { matching: ['(?P<n>[[:digit:]]+)-\\Q.x\\E'] }\n`, 't').upstreams ?? [];
    assert.equal(u?.metrics.matching[0]?.testExact('12-.x'), true);
    assert.equal(u?.metrics.matching[0]?.testExact('12-ax'), false);
  });

  const refused: [string, string, RegExp][] = [
    ['a plain http URL', base.replace('https://', 'http://'), /must be an https:\/\/ URL/],
    [
      'an unknown group-version',
      base.replace('external.metrics.k8s.io/v1beta1', 'metrics.k8s.io/v1beta1'),
      /groupVersions/,
    ],
    [
      'a bad pattern',
      `${base}    metrics: { matching: ['s[0-'] }\n`,
      /invalid regular expression "s\[0-": .*missing closing \]/,
    ],
    ['a cert without key', `${base}    clientCertFile: /c.pem\n`, /clientCertFile and clientKeyFile go together/],
    [
      'caFile with insecureSkipTLSVerify',
      `${base}    caFile: /ca.pem\n    insecureSkipTLSVerify: true\n`,
      /exclude each other/,
    ],
    ['a bad timeout', `${base}    timeout: soon\n`, /timeout: expected a duration/],
    ['two upstreams of one name', `${base}${base.replace('upstreams:\n', '')}`, /upstream names must be unique/],
    ['an unknown field', `${base}    header: x\n`, /header/],
  ];
  for (const [what, yaml, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => parseConfig(yaml, 't'),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }
});
