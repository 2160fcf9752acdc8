/**
 * The monitoring component: the ServiceMonitor scrapes the adapter's HTTPS port, the
 * PrometheusRule is valid for Prometheus (`promtool check rules`), each alert fires on the
 * failure it names and stays quiet when healthy (`promtool test rules`), and every adapter
 * metric and label value it reads is one the adapter really exports.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { cacheMetricsFor } from '../../src/cache/cache-metrics.js';
import { ConfigReloader } from '../../src/config/reloader.js';
import { createInformerMetrics } from '../../src/kube/informer-metrics.js';
import { createLogger } from '../../src/observability/logger.js';
import { createAdapterMetrics } from '../../src/observability/metrics.js';
import { ADAPTER, adapterContainer, adapterDeployment, containerPort, type Service } from './kinds.js';
import { type KubeObject, needsKubectl, ROOT, renderAll, selects, theOne } from './render.js';

interface ServiceMonitor extends KubeObject {
  spec: {
    selector: { matchLabels?: Record<string, string> };
    namespaceSelector?: { matchNames?: string[]; any?: boolean };
    endpoints: {
      port?: string;
      scheme?: string;
      path?: string;
      tlsConfig?: { insecureSkipVerify?: boolean; ca?: unknown };
    }[];
  };
}
interface PrometheusRule extends KubeObject {
  spec: { groups: { name: string; rules: { alert?: string; expr: string }[] }[] };
}

const INSTALL = 'overlays/eks + components/monitoring';

const promtoolMissing = spawnSync('promtool', ['--version']).status !== 0;
const needsPromtool = {
  skip: promtoolMissing ? 'promtool not found (scripts/ensure-test-tools.sh installs it): alerts NOT checked' : false,
};

// Not `{ ...needsKubectl, ...needsPromtool }`: the second's `skip: false` would undo the first's reason.
const needsKubectlAndPromtool = { skip: needsKubectl.skip || needsPromtool.skip };

/** The adapter's registry as the process builds it: request, cache and config-reload metrics. */
function adapterRegistry(): Registry {
  const registry = new Registry();
  createAdapterMetrics(registry, false);
  cacheMetricsFor(registry).initialise('sqs');
  createInformerMetrics(registry, createLogger('silent'), new Map(), Date.now);
  new ConfigReloader({
    path: '/nonexistent/config.yaml',
    registry,
    logger: createLogger('silent'),
    apply: async () => {},
  });
  return registry;
}

describe('components/monitoring', () => {
  let objects: KubeObject[] = [];
  let scratch = '';
  before(() => {
    objects = renderAll().get(INSTALL) ?? [];
    scratch = mkdtempSync(join(tmpdir(), 'prometheus-rule-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const rule = () => theOne<PrometheusRule>(objects, 'PrometheusRule', ADAPTER);
  const writeRules = () => {
    const path = join(scratch, 'rules.yaml');
    writeFileSync(path, stringify({ groups: rule().spec.groups }));
    return path;
  };

  it('the ServiceMonitor scrapes /metrics on the adapter Service HTTPS port', needsKubectl, () => {
    const monitor = theOne<ServiceMonitor>(objects, 'ServiceMonitor', ADAPTER);
    const service = theOne<Service>(objects, 'Service', ADAPTER);
    assert.ok(selects(monitor.spec.selector.matchLabels, service.metadata.labels), 'selects the Service by its labels');
    assert.ok(
      monitor.spec.namespaceSelector?.any ||
        monitor.spec.namespaceSelector?.matchNames?.includes(service.metadata.namespace ?? ''),
      "looks in the Service's namespace",
    );
    const [endpoint] = monitor.spec.endpoints;
    assert.ok(endpoint);
    const port = service.spec.ports.find((p) => p.name === endpoint.port);
    assert.ok(port, `the Service has a port named ${endpoint.port}`);
    const container = adapterContainer(adapterDeployment(objects));
    assert.equal(containerPort(container, port.targetPort), 6443, 'which reaches the adapter port');
    assert.equal(endpoint.scheme, 'https');
    assert.equal(endpoint.path, '/metrics');
    assert.ok(endpoint.tlsConfig?.insecureSkipVerify || endpoint.tlsConfig?.ca, 'TLS: skip verification or a CA');
  });

  it('the PrometheusRule alerts on each failure issue 6 names', needsKubectl, () => {
    const alerts = rule().spec.groups.flatMap((g) => g.rules.map((r) => [r.alert, r.expr] as const));
    const alertOn = (metric: RegExp) => alerts.some(([name, expr]) => name && metric.test(expr));
    assert.ok(alertOn(/aggregator_unavailable_apiservice/), 'APIService unavailable');
    assert.ok(alertOn(/hpa_metrics_adapter_cache_requests_total\{result="stale"\}/), 'stale serving');
    assert.ok(alertOn(/hpa_metrics_adapter_cache_backend_loads_total\{outcome="error"\}/), 'backend errors');
    assert.ok(alertOn(/hpa_metrics_adapter_config_last_reload_successful == 0/), 'config reload failures');
    assert.ok(alertOn(/hpa_metrics_adapter_requests_total\{[^}]*code=~"5\.\."/), '5xx rate');
    assert.ok(alertOn(/hpa_metrics_adapter_informer_serving == 0/), 'selector requests LISTing per poll');
  });

  it('every adapter metric and label value the rules read is exported by the adapter', needsKubectl, async () => {
    const exported = new Map(
      (await adapterRegistry().getMetricsAsJSON()).map((m) => [
        m.name,
        new Set(m.values.flatMap((v) => Object.entries(v.labels).map(([k, value]) => `${k}="${value}"`))),
      ]),
    );
    const exprs = rule()
      .spec.groups.flatMap((g) => g.rules.map((r) => r.expr))
      .join('\n');
    for (const [, name, matchers = ''] of exprs.matchAll(/(hpa_metrics_adapter_\w+)(?:\{([^}]*)\})?/g)) {
      const labels = exported.get(name as string);
      assert.ok(labels, `${name} is not a metric the adapter exports`);
      for (const matcher of matchers.split(',').map((m) => m.trim())) {
        if (!/^\w+="[^"]*"$/.test(matcher)) continue;
        assert.ok(labels.has(matcher), `${name} has no series with ${matcher}`);
      }
    }
  });

  it('promtool check rules accepts the rules', needsKubectlAndPromtool, () => {
    const result = spawnSync('promtool', ['check', 'rules', writeRules()], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it('promtool test rules: each alert fires on its failure, not when healthy', needsKubectlAndPromtool, () => {
    writeRules();
    const tests = join(scratch, 'tests.yaml');
    copyFileSync(join(ROOT, 'test/deploy/fixtures/prometheus-rule-tests.yaml'), tests);
    const result = spawnSync('promtool', ['test', 'rules', tests], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });
});
