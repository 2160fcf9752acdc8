/**
 * components/resource-metrics: both metrics.k8s.io APIServices on the adapter's Service, the
 * aggregated reader role for kubectl top, the adapter's own read access to pods and nodes, and
 * the shipped config with kube-prometheus's resourceRules added still validating.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { resourceRulesOf } from '../../src/providers/prometheus/config.js';
import { KUBE_PROMETHEUS_CONFIG } from '../support/resource-metrics-cluster.js';
import { shippedConfigText } from './kinds.js';
import { INSTALLS, type KubeObject, needsKubectl, ofKind, render } from './render.js';

interface ApiService extends KubeObject {
  spec: { group: string; version: string; versionPriority: number; service: { name: string; namespace: string } };
}
interface Role extends KubeObject {
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

describe('components/resource-metrics', needsKubectl, () => {
  let objects: KubeObject[] = [];
  before(() => {
    const install = INSTALLS.find((i) => i.name === 'base + components/resource-metrics');
    assert.ok(install);
    objects = render(install);
  });

  it('registers v1 (preferred) and v1beta1 of metrics.k8s.io on the adapter`s Service', () => {
    const services = ofKind<ApiService>(objects, 'APIService').filter((a) => a.spec.group === 'metrics.k8s.io');
    assert.deepEqual(
      services
        .map((a) => [a.metadata.name, a.spec.versionPriority, `${a.spec.service.namespace}/${a.spec.service.name}`])
        .sort(),
      [
        ['v1.metrics.k8s.io', 200, 'hpa-metrics-adapter/hpa-metrics-adapter'],
        ['v1beta1.metrics.k8s.io', 100, 'hpa-metrics-adapter/hpa-metrics-adapter'],
      ],
    );
  });

  it('lets viewers run kubectl top, and the adapter list and watch pods and nodes', () => {
    const roles = ofKind<Role>(objects, 'ClusterRole');
    const reader = roles.find((r) => r.metadata.name === 'hpa-metrics-adapter:aggregated-metrics-reader');
    assert.equal(reader?.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view'], 'true');
    assert.deepEqual(reader?.rules, [
      { apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
    ]);
    const core = roles.flatMap((r) => r.rules).filter((rule) => rule.apiGroups.includes(''));
    for (const resource of ['pods', 'nodes']) {
      assert.ok(
        core.some(
          (rule) => rule.resources.includes(resource) && ['list', 'watch'].every((v) => rule.verbs.includes(v)),
        ),
        `the adapter may list and watch ${resource}`,
      );
    }
  });

  it('the shipped config with kube-prometheus`s resourceRules added validates', () => {
    const base = parse(shippedConfigText(objects)) as Record<string, unknown>;
    const rules = parse(readFileSync(KUBE_PROMETHEUS_CONFIG, 'utf8')) as Record<string, unknown>;
    const config = parseConfig(JSON.stringify({ ...base, ...rules }), 'base + kube-prometheus resourceRules');
    assert.equal(resourceRulesOf(config)?.field, 'resourceRules');
  });
});
