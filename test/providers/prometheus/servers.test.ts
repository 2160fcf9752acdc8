import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parseSelector } from '../../../src/api/selector.js';
import { resolveCacheSettings } from '../../../src/cache/config.js';
import { runExplain } from '../../../src/cli/explain.js';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigReloader } from '../../../src/config/reloader.js';
import { deadlineOf } from '../../../src/lib/deadline.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createPrometheusBackend, type PrometheusBackend } from '../../../src/providers/prometheus/backend.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import { createBackends } from '../../../src/providers/registry.js';
import { ConfigError } from '../../../src/schema/errors.js';
import { startBackends } from '../../../src/startup/backends.js';
import { passThroughCache, testBackendContext } from '../../support/backend-context.js';
import { configError } from '../../support/failures.js';
import { alignedQueryTime, gauge, type PrometheusServer, startPrometheus } from '../../support/prometheus-server.js';

/** `prometheus.servers`: validation, settings, the per-server parts of the backend, and explain. */

const RULE = `
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)`;

const twoServers = (rules: string, extra = '') => `
prometheus:
  servers:
  - name: main
    url: http://127.0.0.1:9090
    tenant: team-a${extra}
  - name: thanos
    url: http://127.0.0.1:10902/prom
    headers: { X-Extra: yes }
    cache: { ttl: 45s }
  externalRules:${rules}
`;

describe('prometheus.servers: config validation', () => {
  it('refuses two servers of one name, naming the field', () => {
    const yaml = twoServers(`\n  - seriesQuery: up${RULE}`).replace('name: thanos', 'name: main');
    assert.match(configError(yaml), /prometheus\.servers\[1\]\.name: "main" names two servers/);
  });

  it('refuses a rule naming an unknown server, naming the rule field and the servers there are', () => {
    const message = configError(twoServers(`\n  - seriesQuery: up\n    server: thanso${RULE}`));
    assert.match(message, /prometheus\.externalRules\[0\]\.server: no server is named "thanso"/);
    assert.match(message, /main, thanos/);
    assert.match(
      configError(`prometheus:\n  url: http://p:9090\n  rules:\n  - seriesQuery: up\n    server: other${RULE}\n`),
      /prometheus\.rules\[0\]\.server: no server is named "other" \(the single server is default\)/,
    );
  });

  it('refuses the single-server settings beside servers, naming them', () => {
    const yaml = twoServers(`\n  - seriesQuery: up${RULE}`).replace(
      '  servers:',
      '  url: http://x:9090\n  timeout: 5s\n  servers:',
    );
    assert.match(configError(yaml), /prometheus\.servers: give either servers or the single-server url, timeout/);
  });

  it('refuses a tenant given twice, a half client certificate and a name that is not a label value', () => {
    assert.match(
      configError(twoServers(`\n  - seriesQuery: up${RULE}`, '\n    headers: { x-scope-orgid: b }')),
      /prometheus\.servers\[0\]: give the tenant as `tenant` or as an X-Scope-OrgID header, not both/,
    );
    assert.match(
      configError(twoServers(`\n  - seriesQuery: up${RULE}`, '\n    clientCert: /c.pem')),
      /prometheus\.servers\[0\]: clientCert and clientKey must be given together/,
    );
    assert.match(
      configError(twoServers(`\n  - seriesQuery: up${RULE}`).replace('name: thanos', 'name: Thanos EU')),
      /prometheus\.servers\[1\]\.name: expected a lowercase name/,
    );
  });

  it('accepts the single-server form unchanged, and `server: default` in it', () => {
    const section = parseConfig(
      `prometheus:\n  url: http://p:9090/prom\n  rules:\n  - seriesQuery: up\n    server: default${RULE}\n`,
      't',
    ).prometheus;
    const settings = resolvePrometheusSettings(section, {});
    assert.deepEqual(
      settings?.servers.map((s) => [s.name, s.cacheName, s.client.url]),
      [['default', 'prometheus', 'http://p:9090/prom']],
    );
  });
});

describe('prometheus.servers: settings', () => {
  const section = parseConfig(twoServers(`\n  - seriesQuery: up${RULE}`), 't').prometheus;

  it('gives each server its cache, its tenant as X-Scope-OrgID, and its own headers', () => {
    const settings = resolvePrometheusSettings(section, { metricsRelistIntervalMs: 30_000 });
    assert.ok(settings);
    const [main, thanos] = settings.servers;
    assert.equal(main?.cacheName, 'prometheus:main');
    assert.deepEqual(main?.client.headers, { 'X-Scope-OrgID': 'team-a' });
    assert.equal(thanos?.cacheName, 'prometheus:thanos');
    assert.deepEqual(thanos?.client.headers, { 'X-Extra': 'yes' });
    assert.equal(thanos?.client.url, 'http://127.0.0.1:10902/prom');
    assert.equal(settings.relistIntervalMs, 30_000, 'the relist flag applies to every server');
  });

  it('refuses the connection flags with servers, naming each flag', () => {
    assert.throws(
      () => resolvePrometheusSettings(section, { prometheusUrl: 'http://flag:9090', prometheusHeaders: ['A: b'] }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /^field prometheus\.servers: --prometheus-url, --prometheus-header set the single-server form's Prometheus/.test(
          error.message,
        ),
    );
  });

  it("lays a server's cache settings over cache.prometheus over cache.default", () => {
    const cache = parseConfig(
      'cache:\n  default: { ttl: 10s, maxStale: 1m }\n  prometheus: { ttl: 30s, negativeTtl: 1s }\n',
      't',
    ).cache;
    const thanos = resolveCacheSettings(cache, 'prometheus:thanos', { ttl: 45_000 });
    assert.equal(thanos.ttlMs, 45_000);
    assert.equal(thanos.negativeTtlMs, 1_000);
    assert.equal(thanos.maxStaleMs, 60_000);
    assert.equal(resolveCacheSettings(cache, 'prometheus:main').ttlMs, 30_000);
    assert.equal(resolveCacheSettings(cache, 'prometheus').ttlMs, 30_000);
  });
});

describe('prometheus.servers: two real servers', () => {
  const T = alignedQueryTime();
  const range = { end: T, seconds: 600 };
  let first: PrometheusServer;
  let second: PrometheusServer;
  let dir: string;
  let configPath: string;

  const yaml = () => `
prometheus:
  servers:
  - name: main
    url: ${first.url}
  - name: thanos
    url: ${second.url}
    tenant: org-1
    failurePolicy: { onError: 7 }
  failurePolicy: { onError: fail }
  failurePolicies:
    other_tenant_jobs: { onError: 9 }
  externalRules:
  - seriesQuery: '{__name__="jobs_waiting"}'
    name: { as: main_jobs }${RULE}
  - seriesQuery: '{__name__="jobs_waiting"}'
    server: thanos
    name: { as: thanos_jobs }${RULE}
  - seriesQuery: '{__name__="jobs_waiting"}'
    server: thanos
    tenant: org-2
    name: { as: other_tenant_jobs }${RULE}
`;

  before(async () => {
    first = await startPrometheus({ series: [gauge('jobs_waiting', { queue: 'a', namespace: 'default' }, 1, range)] });
    second = await startPrometheus({ series: [gauge('jobs_waiting', { queue: 'a', namespace: 'default' }, 2, range)] });
    dir = await mkdtemp(join(tmpdir(), 'servers-explain-'));
    configPath = join(dir, 'adapter.yaml');
    await writeFile(configPath, yaml());
  });
  after(async () => {
    await first?.stop();
    await second?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function started(): Promise<{ backend: PrometheusBackend; keys: string[] }> {
    const settings = resolvePrometheusSettings(parseConfig(yaml(), 't').prometheus, { metricsMaxAgeMs: 3600_000 });
    assert.ok(settings);
    const cache = passThroughCache();
    const backend = await createPrometheusBackend(
      settings,
      testBackendContext({ cache, now: () => new Date(T * 1000) }),
    );
    await backend.start?.();
    return { backend, keys: cache.keys };
  }

  it('answers each rule from its server; a shared cache never mixes servers or tenants', async () => {
    const { backend, keys } = await started();
    try {
      const ask = (metric: string) =>
        backend.external.getExternalMetric({
          metric,
          namespace: 'default',
          metricSelector: parseSelector(''),
          deadline: deadlineOf(AbortSignal.timeout(5000)),
        });
      assert.equal((await ask('main_jobs'))[0]?.value, 1);
      assert.equal((await ask('thanos_jobs'))[0]?.value, 2);
      assert.equal((await ask('other_tenant_jobs'))[0]?.value, 2);
      const promql = 'sum(jobs_waiting{namespace="default"}) by (queue)';
      assert.deepEqual(keys, [promql, `thanos\n\n${promql}`, `thanos\norg-2\n${promql}`]);
      assert.deepEqual(
        backend.discovery().reports.map((r) => backend.serverOf(r.rule)),
        ['main', 'thanos', 'thanos'],
      );
    } finally {
      await backend.close?.();
    }
  });

  it("answers a down server's metrics by its failurePolicy, under each metric's own", async () => {
    const config = parseConfig(yaml(), 't');
    const [backend] = await createBackends(config, {
      ...testBackendContext({ now: () => new Date(T * 1000) }),
      flags: { metricsMaxAgeMs: 3600_000 },
      cacheFor: () => passThroughCache(),
    });
    assert.ok(backend?.external);
    await backend.start?.();
    const ask = async (metric: string) => {
      const samples = await backend.external?.getExternalMetric({
        metric,
        namespace: 'default',
        metricSelector: parseSelector(''),
        deadline: deadlineOf(AbortSignal.timeout(5000)),
      });
      return samples?.[0]?.value;
    };
    await second.pause();
    try {
      assert.equal(await ask('thanos_jobs'), 7, "the server's failurePolicy");
      assert.equal(await ask('other_tenant_jobs'), 9, "the metric's own policy over its server's");
      assert.equal(await ask('main_jobs'), 1, 'the other server answers');
      await first.pause();
      await assert.rejects(
        ask('main_jobs'),
        /prometheus backend at/,
        "the section's policy (fail) for the first server",
      );
    } finally {
      await backend.close?.();
      await first.restart();
      await second.restart();
    }
  });

  it('refuses a reload that would not work and keeps serving the running config', async () => {
    const running = await startBackends(parseConfig(yaml(), 't'), {
      flags: { metricsMaxAgeMs: 3600_000 },
      logger: silentLogger(),
      registry: new Registry(),
    });
    try {
      const served = () => running.router.listExternalMetrics().map((m) => m.metric);
      assert.deepEqual(served(), ['main_jobs', 'thanos_jobs', 'other_tenant_jobs']);
      const reloader = async (yamlText: string) => {
        const dir = await mkdtemp(join(tmpdir(), 'servers-reload-'));
        const path = join(dir, 'config.yaml');
        await writeFile(path, yamlText);
        const messages: string[] = [];
        const logger = silentLogger();
        logger.warn = ((...args: unknown[]) => messages.push(JSON.stringify(args))) as typeof logger.warn;
        logger.error = logger.warn;
        const reload = new ConfigReloader({ path, registry: new Registry(), logger, apply: running.apply });
        try {
          return { ok: await reload.reload(), messages: messages.join('\n') };
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      };
      const unknown = await reloader(
        yaml().replace('server: thanos\n    tenant: org-2', 'server: thanso\n    tenant: org-2'),
      );
      assert.equal(unknown.ok, false);
      assert.match(unknown.messages, /prometheus\.externalRules\[2\]\.server: no server is named \\"thanso\\"/);
      const twice = await reloader(yaml().replace('name: thanos', 'name: main'));
      assert.equal(twice.ok, false);
      assert.match(twice.messages, /prometheus\.servers\[1\]\.name/);
      assert.deepEqual(served(), ['main_jobs', 'thanos_jobs', 'other_tenant_jobs'], 'the running config still serves');
    } finally {
      await running.close();
    }
  });

  it('refuses a reload to servers while --prometheus-url is given, keeping the single server serving', async () => {
    const single = `prometheus:\n  externalRules:\n  - seriesQuery: '{__name__="jobs_waiting"}'\n    name: { as: main_jobs }${RULE}\n`;
    const running = await startBackends(parseConfig(single, 't'), {
      flags: { prometheusUrl: first.url, metricsMaxAgeMs: 3600_000 },
      logger: silentLogger(),
      registry: new Registry(),
    });
    try {
      await assert.rejects(running.apply(parseConfig(yaml(), 't')), /--prometheus-url sets the single-server form/);
      assert.deepEqual(
        running.router.listExternalMetrics().map((m) => m.metric),
        ['main_jobs'],
      );
    } finally {
      await running.close();
    }
  });

  it('explain names each server and the server of each rule, and goes on when one is down', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const code = await runExplain(['--config', configPath, '--time', String(T), 'thanos_jobs'], out);
    assert.equal(code, 0, text);
    assert.match(text, new RegExp(`^Prometheus ${second.url} \\(server thanos\\): series seen`, 'm'));
    assert.match(
      text,
      new RegExp(`^externalRules\\[2\\] .*\\n {2}server: thanos ${second.url}, X-Scope-OrgID org-2$`, 'm'),
    );
    assert.match(text, new RegExp(`^ {2}server: {2}thanos ${second.url}$`, 'm'));
    assert.match(text, /^ {2}result: {2}\{queue="a"\} 2 at /m);

    await second.pause();
    try {
      text = '';
      const down = await runExplain(['--config', configPath, '--time', String(T), 'main_jobs'], out);
      assert.equal(down, 0, text);
      assert.match(text, /explain: Prometheus at server thanos at http:\/\/\S+ cannot be reached/);
      assert.match(text, /^ {2}result: {2}\{queue="a"\} 1 at /m);
    } finally {
      await second.restart();
    }
  });
});
