/**
 * The upstream components: the config entry each ships parses with the adapter's own schema
 * beside the base config, its CA file lies on a mounted volume, our service account may read
 * the metrics the upstream serves, and the NetworkPolicy lets the adapter reach it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ADAPTER, adapterDeployment, type NetworkPolicy, shippedConfigText, volumeHolding } from './kinds.js';
import { type KubeObject, needsKubectl, ofKind, ROOT, render } from './render.js';

const INSTALL = {
  name: 'base + components/upstream-keda + components/upstream-prometheus-adapter',
  resources: ['deploy/base'],
  components: ['deploy/components/upstream-keda', 'deploy/components/upstream-prometheus-adapter'],
};

function shippedEntry(component: string): string {
  return readFileSync(join(ROOT, 'deploy/components', component, 'upstream.yaml'), 'utf8');
}

interface Binding extends KubeObject {
  roleRef: { name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}
interface Role extends KubeObject {
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

describe('components/upstream-keda and upstream-prometheus-adapter', needsKubectl, () => {
  let objects: KubeObject[] = [];
  before(() => {
    objects = render(INSTALL);
  });

  it('their upstream entries, added to the shipped config, pass the adapter config validation', () => {
    const base = parse(shippedConfigText(objects)) as Record<string, unknown>;
    const upstreams = ['upstream-keda', 'upstream-prometheus-adapter'].flatMap(
      (c) => (parse(shippedEntry(c)) as { upstreams: unknown[] }).upstreams,
    );
    const config = parseConfig(JSON.stringify({ ...base, upstreams }), 'base + components');
    const keda = config.upstreams?.find((u) => u.name === 'keda');
    assert.ok(keda);
    assert.equal(keda.metrics.announced, false);
    assert.ok(keda.metrics.matching.some((p) => p.test('s0-rabbitmq-orders')));
    assert.equal(
      keda.metrics.matching.some((p) => p.test('demo-queue-depth')),
      false,
    );
  });

  it("KEDA's CA file lies on a mounted Secret volume", () => {
    const keda = (parse(shippedEntry('upstream-keda')) as { upstreams: { caFile: string }[] }).upstreams[0];
    assert.ok(keda);
    const volume = volumeHolding(adapterDeployment(objects), keda.caFile);
    assert.equal(volume.secret?.secretName, 'keda-upstream-ca');
  });

  it('our service account may get and list the metrics of both upstreams', () => {
    const granted = (group: string) =>
      ofKind<Binding>(objects, 'ClusterRoleBinding')
        .filter((b) =>
          b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === ADAPTER && s.namespace === ADAPTER),
        )
        .flatMap((b) => ofKind<Role>(objects, 'ClusterRole').filter((r) => r.metadata.name === b.roleRef.name))
        .some((r) =>
          r.rules.some(
            (rule) =>
              rule.apiGroups.includes(group) &&
              rule.resources.includes('*') &&
              ['get', 'list'].every((v) => rule.verbs.includes(v)),
          ),
        );
    assert.ok(granted('external.metrics.k8s.io'));
    assert.ok(granted('custom.metrics.k8s.io'));
  });

  it("the NetworkPolicy allows egress to KEDA's and prometheus-adapter's pods on 6443", () => {
    const [policy] = ofKind<NetworkPolicy>(objects, 'NetworkPolicy');
    const to = (name: string) =>
      policy?.spec.egress?.some(
        (rule) =>
          rule.ports?.some((p) => p.port === 6443) &&
          (rule.to as { podSelector?: { matchLabels?: Record<string, string> } }[] | undefined)?.some(
            (peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === name,
          ),
      );
    assert.ok(to('keda-operator-metrics-apiserver'));
    assert.ok(to('prometheus-adapter'));
  });

  it("registers only our three APIServices (KEDA's own is left out)", () => {
    assert.deepEqual(
      ofKind(objects, 'APIService')
        .map((a) => a.metadata.name)
        .sort(),
      ['v1beta1.custom.metrics.k8s.io', 'v1beta1.external.metrics.k8s.io', 'v1beta2.custom.metrics.k8s.io'],
    );
  });
});
