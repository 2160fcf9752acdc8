/**
 * deploy/examples: each HPA scales a workload of its own file, on a metric the config of the
 * install it names really serves — checked with the adapter's own selector, SQS, CloudWatch and
 * Prometheus-rule code, so a renamed metric, a missing selector label or a rule that announces
 * another name fails here instead of as "no metrics returned" in a cluster.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { selectorFromMatchLabels } from '../../src/api/selector.js';
import { parseConfig } from '../../src/config/load.js';
import type { AdapterConfig } from '../../src/config/schema.js';
import { resolveQueries } from '../../src/providers/cloudwatch/queries.js';
import { buildDiscovery } from '../../src/providers/prometheus/announced-metrics.js';
import { compileRules } from '../../src/providers/prometheus/backend.js';
import { resolvePrometheusSettings } from '../../src/providers/prometheus/settings.js';
import { QueueAllowList, queuesFromSelector } from '../../src/providers/sqs/queue-selection.js';
import { type Deployment, shippedConfigText } from './kinds.js';
import { type KubeObject, needsKubectl, parseYamlStream, ROOT, renderAll, theOne } from './render.js';

type Labels = Record<string, string>;
interface MetricSource {
  metric: { name: string; selector?: { matchLabels?: Labels } };
  target: { type: string };
}
interface HorizontalPodAutoscaler extends KubeObject {
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    minReplicas?: number;
    maxReplicas: number;
    metrics: { type: string; external?: MetricSource; pods?: MetricSource }[];
  };
}

/** The install whose config each example's metrics come from. */
const SERVED_BY: Record<string, string> = {
  'hpa-static.yaml': 'base',
  'hpa-sqs-batch-processor.yaml': 'overlays/eks',
  'hpa-cloudwatch-alb.yaml': 'overlays/eks',
  'hpa-prometheus-rps.yaml': 'overlays/eks',
};

/** Throws, as the adapter would answer, unless `config` serves this external metric and selector. */
function assertServesExternal(config: AdapterConfig, namespace: string, source: MetricSource): void {
  const { name } = source.metric;
  const labels = source.metric.selector?.matchLabels ?? {};
  const staticMetric = config.static?.external.find((m) => m.metric === name);
  if (staticMetric) {
    assert.ok(
      staticMetric.series.some((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v)),
      `static metric ${name}: no series matches ${JSON.stringify(labels)} (the HPA would see no metrics)`,
    );
    return;
  }
  const sqs = config.sqs;
  if (sqs?.queueLengthMetric.enabled && sqs.queueLengthMetric.name === name) {
    const [queue] = queuesFromSelector(name, selectorFromMatchLabels(labels));
    new QueueAllowList(sqs.allowQueues).check(name, queue?.name ?? '');
    const namespaces = sqs.queueLengthMetric.namespaces;
    assert.ok(!namespaces || namespaces.includes(namespace), `${name} may not be read from namespace ${namespace}`);
    return;
  }
  const cloudwatch = config.cloudwatch?.metrics.find((m) => m.name === name);
  if (cloudwatch) {
    for (const value of Object.values(labels)) assert.match(value, /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
    const dimensions = resolveQueries(cloudwatch, labels).flatMap((q) => q.MetricStat?.Metric?.Dimensions ?? []);
    for (const d of dimensions) assert.doesNotMatch(d.Value ?? '', /\$\{/, `dimension ${d.Name} is filled in`);
    assert.ok(
      !cloudwatch.namespaces || cloudwatch.namespaces.includes(namespace),
      `${name} not readable from ${namespace}`,
    );
    return;
  }
  assert.fail(`no backend of the config serves external metric ${name}`);
}

/** Throws unless the Prometheus rules announce `name` for pods, given the counter the example's pods export. */
function assertServesPodsMetric(config: AdapterConfig, namespace: string, name: string, series: Labels): void {
  const settings = resolvePrometheusSettings(config.prometheus, undefined);
  assert.ok(settings, 'the config has Prometheus rules');
  const rules = compileRules(settings, BUILTIN_RESOURCES);
  const discovery = buildDiscovery(rules, new Map(rules.map((r) => [r.seriesQuery, [{ ...series, namespace }]])));
  assert.ok(
    discovery.customList.some((m) => m.metric === name && m.resource.resource === 'pods' && m.resource.group === ''),
    `the rules announce ${discovery.customList.map((m) => `${m.resource.resource}/${m.metric}`).join(', ') || 'nothing'}, not pods/${name}`,
  );
}

describe('deploy/examples', () => {
  let configs = new Map<string, AdapterConfig>();
  before(() => {
    configs = new Map(
      [...renderAll()].map(([install, objects]) => [install, parseConfig(shippedConfigText(objects), install)]),
    );
  });

  const files = readdirSync(join(ROOT, 'deploy/examples')).filter((f) => f.endsWith('.yaml'));

  it('every example names the install that serves its metrics', () => {
    assert.deepEqual(files.sort(), Object.keys(SERVED_BY).sort());
  });

  for (const file of files) {
    it(
      `${file}: an autoscaling/v2 HPA on a workload of the file, on metrics the ${SERVED_BY[file]} config serves`,
      needsKubectl,
      () => {
        const objects = parseYamlStream(readFileSync(join(ROOT, 'deploy/examples', file), 'utf8'), file);
        const hpa = theOne<HorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler');
        assert.equal(hpa.apiVersion, 'autoscaling/v2');
        const namespace = hpa.metadata.namespace ?? 'default';
        const target = theOne<Deployment>(objects, hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name);
        assert.equal(target.metadata.namespace, namespace, 'the scale target is in the HPA namespace');
        assert.equal(hpa.spec.scaleTargetRef.apiVersion, target.apiVersion);
        assert.ok(hpa.spec.metrics.length > 0);

        const config = configs.get(SERVED_BY[file] ?? '');
        assert.ok(config, `config of ${SERVED_BY[file]}`);
        for (const metric of hpa.spec.metrics) {
          if (metric.type === 'External' && metric.external) {
            assertServesExternal(config, namespace, metric.external);
          } else if (metric.type === 'Pods' && metric.pods) {
            // The series a pod of the scale target exports, as Prometheus labels it when scraping.
            const pod = `${target.metadata.name}-7d4b9c-x2x5q`;
            assertServesPodsMetric(config, namespace, metric.pods.metric.name, {
              __name__: 'http_requests_total',
              pod,
            });
          } else {
            assert.fail(`metric type ${metric.type} has no check here`);
          }
        }
      },
    );
  }
});
