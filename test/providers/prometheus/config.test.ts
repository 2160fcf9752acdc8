import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { createPrometheusBackend } from '../../../src/providers/prometheus/backend.js';
import { resourceRulesOf } from '../../../src/providers/prometheus/config.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import { ConfigError } from '../../../src/schema/errors.js';
import { testBackendContext } from '../../support/backend-context.js';
import { configError } from '../../support/failures.js';

const ADAPTER_FILE = `
rules:
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters: []
  resources:
    overrides:
      namespace:
        resource: namespace
      pod:
        resource: pod
  name:
    matches: ^container_(.*)_seconds_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m]))
    by (<<.GroupBy>>)
externalRules:
- seriesQuery: '{__name__="queue_depth",topic!=""}'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (name)
  resources:
    namespaced: false
`;

describe('config compatibility with prometheus-adapter', () => {
  it('accepts a prometheus-adapter file unchanged, moving its rules under prometheus', () => {
    const config = parseConfig(ADAPTER_FILE, 'adapter.yaml');
    assert.equal(config.prometheus?.rules?.length, 1);
    assert.equal(config.prometheus?.externalRules?.[0]?.resources?.namespaced, false);
    assert.equal(config.prometheus?.rules?.[0]?.name?.as, '');
  });

  it('accepts the same rules under a prometheus: section with client settings', () => {
    const indented = ADAPTER_FILE.replace(/\n/g, '\n  ');
    const config = parseConfig(
      `prometheus:\n  url: http://prom:9090/prefix\n  timeout: 3s\n  headers: {X-Scope-OrgID: tenant-a}${indented}`,
      'ours.yaml',
    );
    assert.equal(config.prometheus?.url, 'http://prom:9090/prefix');
    assert.equal(config.prometheus?.timeout, 3000);
    assert.equal(config.prometheus?.rules?.length, 1);
  });

  it('reads resourceRules at the top level or under prometheus:, and says where they are', () => {
    const rule =
      '{containerQuery: x, nodeQuery: y, resources: {overrides: {pod: {resource: pod}}}, containerLabel: container}';
    const rules = `  cpu: ${rule}\n  memory: ${rule}\n  window: 5m\n`;
    const topLevel = parseConfig(`${ADAPTER_FILE}\nresourceRules:\n${rules}`, 'adapter.yaml');
    assert.equal(topLevel.prometheus?.rules?.length, 1, 'the custom rules of the file are kept');
    assert.equal(resourceRulesOf(topLevel)?.field, 'resourceRules');
    assert.equal(resourceRulesOf(topLevel)?.rules.window, 300_000);
    const nested = parseConfig(
      `prometheus:\n  url: http://p:9090\n  resourceRules:\n${rules.replace(/^/gm, '  ')}`,
      'ours.yaml',
    );
    assert.equal(resourceRulesOf(nested)?.field, 'prometheus.resourceRules');
    assert.equal(resourceRulesOf(parseConfig(`${ADAPTER_FILE}\nresourceRules:\n`, 'empty.yaml')), undefined);
    assert.equal(resourceRulesOf(parseConfig(ADAPTER_FILE, 'none.yaml')), undefined);
  });

  it('refuses resourceRules of another shape, naming the field', () => {
    assert.match(configError('resourceRules: [odd, shape]\n'), /resourceRules/);
    assert.match(
      configError('resourceRules:\n  cpu: {containerQuery: x}\n  window: 5m\n'),
      /resourceRules\.cpu\.nodeQuery|resourceRules\.memory/,
    );
  });

  it('refuses rules given both at the top level and under prometheus:', () => {
    const message = configError(`prometheus:\n  rules: []\nrules: []\n`);
    assert.match(message, /field rules: rules is given both at the top level and under prometheus/);
  });

  it('names the field of a mistyped rule key, as prometheus-adapter`s strict loader does', () => {
    assert.match(configError("rules:\n- seriesQuery: up\n  metricQuery: 'count(up)'\n"), /prometheus\.rules\[0\]/);
    assert.match(
      configError('rules:\n- seriesQuery: up\n  metricsQuery: x\n  seriesFilters: [{is: a, isNot: b}]\n'),
      /exactly one of `is` or `isNot`/,
    );
  });
});

describe('settings: flags over the file', () => {
  const section = parseConfig(
    'prometheus:\n  url: http://file:9090\n  verb: POST\n  headers: {X-Org: file, X-Keep: yes}\n  rules: []\n',
    't',
  ).prometheus;

  it('lets flags win and merges headers by case-insensitive name', () => {
    const settings = resolvePrometheusSettings(section, {
      prometheusUrl: 'https://flag:9443/prom',
      prometheusVerb: 'GET',
      prometheusHeaders: ['x-org: flag', 'X-Extra:  v  '],
      metricsRelistIntervalMs: 30_000,
    });
    assert.equal(settings?.servers[0]?.client.url, 'https://flag:9443/prom');
    assert.equal(settings?.servers[0]?.client.verb, 'GET');
    assert.deepEqual(settings?.servers[0]?.client.headers, { 'x-org': 'flag', 'X-Keep': 'yes', 'X-Extra': 'v' });
    assert.equal(settings?.relistIntervalMs, 30_000);
    assert.equal(settings?.maxAgeMs, 30_000, 'max age defaults to the relist interval');
  });

  it('creates no backend without a URL or rules, and refuses rules without a URL naming the field', () => {
    assert.equal(resolvePrometheusSettings(undefined, {}), undefined);
    const rules = parseConfig(ADAPTER_FILE, 't').prometheus;
    assert.throws(
      () => resolvePrometheusSettings(rules, {}),
      (error: unknown) => error instanceof ConfigError && /field prometheus\.url/.test(error.message),
    );
  });

  it('refuses a malformed --prometheus-header and a half client certificate', () => {
    assert.throws(
      () => resolvePrometheusSettings(section, { prometheusHeaders: ['no colon'] }),
      /expected "Name: value"/,
    );
    assert.throws(
      () => resolvePrometheusSettings(section, { prometheusClientCert: '/c.pem' }),
      /must be given together/,
    );
  });

  it('refuses a rule that cannot compile when its backend is built, naming its field', async () => {
    const buildError = async (yaml: string): Promise<string> => {
      const settings = resolvePrometheusSettings(parseConfig(yaml, 'test.yaml').prometheus, {
        prometheusUrl: 'http://127.0.0.1:1',
      });
      assert.ok(settings);
      const error = await createPrometheusBackend(settings, testBackendContext()).then(
        () => assert.fail('expected a ConfigError'),
        (error: unknown) => error,
      );
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    };
    assert.match(
      await buildError("rules:\n- seriesQuery: up\n  metricsQuery: 'sum(<<.Serie>>)'\n"),
      /field prometheus\.rules\[0\]\.metricsQuery: can't evaluate field Serie/,
    );
    assert.match(
      await buildError("externalRules:\n- seriesQuery: up\n  metricsQuery: x\n  seriesFilters: [{isNot: '('}]\n"),
      /field prometheus\.externalRules\[0\]\.seriesFilters\[0\]: invalid regular expression/,
    );
  });

  it('names the flag of a TLS file it cannot read, as a ConfigError', async () => {
    const settings = resolvePrometheusSettings(undefined, {
      prometheusUrl: 'https://prometheus:9090',
      prometheusCaFile: '/nonexistent/ca.crt',
    });
    assert.ok(settings);
    await assert.rejects(
      () => createPrometheusBackend(settings, testBackendContext()),
      (error: unknown) =>
        error instanceof ConfigError &&
        /^--prometheus-ca-file \/nonexistent\/ca\.crt: cannot read: ENOENT/.test(error.message),
    );
  });

  it('refuses the same rule when settings are built by hand, as a ConfigError', async () => {
    const settings = resolvePrometheusSettings(undefined, { prometheusUrl: 'http://127.0.0.1:1' });
    assert.ok(settings);
    const broken = { ...settings, rules: [{ seriesQuery: 'up', metricsQuery: '<<.Serie>>' }] };
    await assert.rejects(
      () => createPrometheusBackend(broken, testBackendContext()),
      (error: unknown) =>
        error instanceof ConfigError && /field prometheus\.rules\[0\]\.metricsQuery/.test(error.message),
    );
  });
});
