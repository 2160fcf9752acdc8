/**
 * Every object of every install, and of every example, is valid for its kind's schema
 * (schemas.ts): kubernetes-models for built-in kinds, strict structural schemas for the
 * cert-manager and Prometheus Operator kinds. And the validation catches what it should.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { adapterContainer, adapterDeployment } from './kinds.js';
import { copyOf, INSTALLS, type KubeObject, needsKubectl, parseYamlStream, ROOT, renderAll, theOne } from './render.js';
import { schemaErrors } from './schemas.js';

async function assertValid(objects: readonly KubeObject[]): Promise<void> {
  assert.ok(objects.length > 0, 'nothing to validate');
  const problems: string[] = [];
  for (const object of objects) {
    for (const error of await schemaErrors(object)) {
      problems.push(`${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}: ${error}`);
    }
  }
  assert.deepEqual(problems, []);
}

describe('schemas of every rendered object', () => {
  let rendered = new Map<string, KubeObject[]>();
  before(() => {
    rendered = renderAll();
  });

  for (const { name } of INSTALLS) {
    it(`${name}`, needsKubectl, () => assertValid(rendered.get(name) ?? []));
  }

  for (const file of readdirSync(join(ROOT, 'deploy/examples')).filter((f) => f.endsWith('.yaml'))) {
    it(`examples/${file}`, () =>
      assertValid(parseYamlStream(readFileSync(join(ROOT, 'deploy/examples', file), 'utf8'), file)));
  }
});

/** A broken copy of one rendered object, and what the validation must say about it. */
const BREAKAGES: [description: string, kind: string, breakIt: (o: KubeObject) => void, expected: RegExp][] = [
  [
    'a named port where a number belongs',
    'Deployment',
    (o) => {
      const port = adapterContainer(adapterDeployment([o])).ports?.[0];
      if (port) (port as { containerPort: unknown }).containerPort = 'https';
    },
    /containerPort must be integer/,
  ],
  [
    'a misspelt field (maxUnavilable)',
    'Deployment',
    (o) => {
      const rollingUpdate = adapterDeployment([o]).spec.strategy?.rollingUpdate as Record<string, unknown>;
      rollingUpdate.maxUnavilable = rollingUpdate.maxUnavailable;
      delete rollingUpdate.maxUnavailable;
    },
    /unknown field spec\.strategy\.rollingUpdate\.maxUnavilable/,
  ],
  [
    'a field at the wrong level (probe under the pod)',
    'Deployment',
    (o) => {
      const deployment = adapterDeployment([o]);
      (deployment.spec.template.spec as unknown as Record<string, unknown>).readinessProbe =
        adapterContainer(deployment).readinessProbe;
    },
    /unknown field spec\.template\.spec\.readinessProbe/,
  ],
  [
    'a PodDisruptionBudget selector that is a plain map',
    'PodDisruptionBudget',
    (o) => {
      const spec = o.spec as { selector: unknown };
      spec.selector = 'app=hpa-metrics-adapter';
    },
    /selector must be object/,
  ],
  [
    'an APIService without versionPriority',
    'APIService',
    (o) => {
      delete (o.spec as Record<string, unknown>).versionPriority;
    },
    /must have required property versionPriority/,
  ],
  [
    'a Certificate with an unknown field (dnsName)',
    'Certificate',
    (o) => {
      (o.spec as Record<string, unknown>).dnsName = 'x.svc';
    },
    /Unrecognized key: "dnsName"/,
  ],
  [
    'a ServiceMonitor scheme in capitals',
    'ServiceMonitor',
    (o) => {
      const spec = o.spec as { endpoints: { scheme?: string }[] };
      if (spec.endpoints[0]) spec.endpoints[0].scheme = 'HTTPS';
    },
    /endpoints\.0\.scheme/,
  ],
  [
    'an alert `for` Prometheus cannot parse',
    'PrometheusRule',
    (o) => {
      const spec = o.spec as { groups: { rules: { for?: string }[] }[] };
      const rule = spec.groups[0]?.rules[0];
      if (rule) rule.for = '5 minutes';
    },
    /groups\.0\.rules\.0\.for/,
  ],
];

/** Which object of a kind to break, where an install has several. */
const NAMES: Record<string, string> = {
  Certificate: 'hpa-metrics-adapter-serving-cert',
  APIService: 'v1beta1.external.metrics.k8s.io',
};

describe('the schema validation fails on broken objects', () => {
  let everything: KubeObject[] = [];
  before(() => {
    everything = renderAll().get('overlays/eks + components/monitoring') ?? [];
  });

  for (const [description, kind, breakIt, expected] of BREAKAGES) {
    it(`${kind}: ${description}`, needsKubectl, async () => {
      const broken = copyOf(theOne(everything, kind, NAMES[kind]));
      breakIt(broken);
      const errors = await schemaErrors(broken);
      assert.ok(
        errors.some((e) => expected.test(e)),
        `expected an error matching ${expected}, got: ${errors.join('; ') || 'none'}`,
      );
    });
  }

  it('a kind with no schema is reported, not passed', async () => {
    const errors = await schemaErrors({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
    assert.match(errors.join(), /no schema for example\.com\/v1 Widget/);
  });
});
