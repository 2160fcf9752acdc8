import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import request from 'supertest';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { buildTestApp } from '../../support/app.js';

/**
 * Aggregated discovery on /apis, as kube-apiserver's aggregator (1.27+) and kubectl (1.26+) ask
 * for it, checked against the published APIGroupDiscoveryList schema, not our own types.
 */

const V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';
// What kube-apiserver 1.30's aggregator sends, and what kubectl 1.32 sends.
const AGGREGATOR_ACCEPT = `${V2},${V2BETA1},application/json`;
const KUBECTL_ACCEPT = `application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,${V2},application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,${V2BETA1},application/json`;

interface Schema {
  type?: string;
  $ref?: string;
  required?: string[];
  enum?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}
const SCHEMA: { definitions: Record<string, Schema> } = JSON.parse(
  readFileSync(new URL('./fixtures/apidiscovery.schema.json', import.meta.url), 'utf8'),
);

/** Every field present is declared with its type, every required field is present, list keys are unique. */
function validate(value: unknown, schema: Schema, path: string, problems: string[]): void {
  if (schema.$ref) {
    const target = SCHEMA.definitions[schema.$ref];
    if (!target) throw new Error(`fixture has no ${schema.$ref}`);
    validate(value, target, path, problems);
    return;
  }
  if (schema.type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${path}: expected an object, got ${JSON.stringify(value)}`);
      return;
    }
    const record = value as Record<string, unknown>;
    for (const field of schema.required ?? []) if (!(field in record)) problems.push(`${path}.${field}: required`);
    for (const [field, fieldValue] of Object.entries(record)) {
      const fieldSchema = schema.properties?.[field];
      if (!fieldSchema) problems.push(`${path}.${field}: not in the schema`);
      else validate(fieldValue, fieldSchema, `${path}.${field}`, problems);
    }
    return;
  }
  if (schema.type === 'array') {
    if (!Array.isArray(value)) {
      problems.push(`${path}: expected an array, got ${JSON.stringify(value)}`);
      return;
    }
    value.forEach((item, i) => {
      validate(item, schema.items as Schema, `${path}[${i}]`, problems);
    });
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set' || listType === 'map') {
      const keys = value.map((item) =>
        listType === 'set'
          ? JSON.stringify(item)
          : JSON.stringify((schema['x-kubernetes-list-map-keys'] ?? []).map((k) => item[k])),
      );
      if (new Set(keys).size !== keys.length) problems.push(`${path}: duplicate keys in a ${listType} list`);
    }
    return;
  }
  if (schema.type === 'string' && typeof value !== 'string') problems.push(`${path}: expected a string`);
  if (schema.type === 'integer' && !Number.isInteger(value)) problems.push(`${path}: expected an integer`);
  if (schema.enum && !schema.enum.includes(value as string)) problems.push(`${path}: ${value} not in ${schema.enum}`);
}

function schemaProblems(body: unknown, version: 'v2' | 'v2beta1'): string[] {
  const problems: string[] = [];
  validate(body, { $ref: `io.k8s.api.apidiscovery.${version}.APIGroupDiscoveryList` }, '$', problems);
  return problems;
}

function noMetricsBackend(): MetricsBackend {
  return {
    name: 'empty',
    custom: {
      getMetricByName: () => new Promise(() => {}),
      getMetricBySelector: () => new Promise(() => {}),
      listCustomMetrics: () => [],
      servesCustom: () => false,
    },
    external: {
      getExternalMetric: () => new Promise(() => {}),
      listExternalMetrics: () => [],
      servesExternal: () => false,
    },
  };
}

describe('aggregated discovery on /apis', () => {
  const { app } = buildTestApp();

  for (const [version, accept] of [
    ['v2', AGGREGATOR_ACCEPT],
    ['v2', KUBECTL_ACCEPT],
    ['v2beta1', V2BETA1],
    ['v2beta1', `${V2BETA1},application/json`],
  ] as const) {
    it(`Accept ${accept.slice(0, 60)}… answers ${version} with exactly that Content-Type`, async () => {
      const res = await request(app).get('/apis').set('Accept', accept).expect(200);
      assert.equal(
        res.headers['content-type'],
        `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`,
      );
      assert.equal(res.headers.vary, 'Accept');
      const body = JSON.parse(res.text);
      assert.equal(body.kind, 'APIGroupDiscoveryList');
      assert.equal(body.apiVersion, `apidiscovery.k8s.io/${version}`);
      assert.deepEqual(schemaProblems(body, version), []);
    });
  }

  it('lists both groups, versions in order of preference, every resource with its kind and scope', async () => {
    const res = await request(app).get('/apis').set('Accept', V2).expect(200);
    const body = JSON.parse(res.text);
    assert.deepEqual(
      body.items.map((g: { metadata: { name: string }; versions: { version: string; freshness: string }[] }) => [
        g.metadata.name,
        g.versions.map((v) => `${v.version}:${v.freshness}`),
      ]),
      [
        ['custom.metrics.k8s.io', ['v1beta2:Current', 'v1beta1:Current']],
        ['external.metrics.k8s.io', ['v1beta1:Current']],
      ],
    );
    const external = body.items[1].versions[0].resources;
    assert.deepEqual(external[0], {
      resource: 'queue-depth',
      responseKind: { group: 'external.metrics.k8s.io', version: 'v1beta1', kind: 'ExternalMetricValueList' },
      scope: 'Namespaced',
      singularResource: '',
      verbs: ['get'],
    });
    const custom = body.items[0].versions[0].resources;
    // As kube-apiserver converts `pods/http_requests`: a subresource of a kind-less parent.
    assert.deepEqual(
      custom.find((r: { resource: string }) => r.resource === 'pods'),
      {
        resource: 'pods',
        responseKind: { group: '', version: '', kind: '' },
        scope: 'Namespaced',
        singularResource: '',
        verbs: [],
        subresources: [
          {
            subresource: 'http_requests',
            responseKind: { group: 'custom.metrics.k8s.io', version: 'v1beta2', kind: 'MetricValueList' },
            verbs: ['get'],
          },
        ],
      },
    );
    assert.equal(custom.find((r: { resource: string }) => r.resource === 'nodes').scope, 'Cluster');
    assert.equal(custom.find((r: { resource: string }) => r.resource === 'namespaces').scope, 'Cluster');
    for (const group of body.items) {
      for (const version of group.versions) {
        assert.ok(
          version.resources.some(
            (r: { resource: string; responseKind: { kind: string } }) => r.responseKind.kind !== '',
          ),
          `${group.metadata.name}/${version.version} has a resource with a kind`,
        );
      }
    }
  });

  it('with no metric at all, every version still lists the placeholder, and the document stays valid', async () => {
    const { app: empty } = buildTestApp({ backends: [noMetricsBackend()] });
    for (const version of ['v2', 'v2beta1'] as const) {
      const res = await request(empty)
        .get('/apis')
        .set('Accept', version === 'v2' ? V2 : V2BETA1)
        .expect(200);
      const body = JSON.parse(res.text);
      assert.deepEqual(schemaProblems(body, version), []);
      for (const group of body.items) {
        for (const v of group.versions) {
          assert.deepEqual(v.resources, [
            {
              resource: 'discovery-placeholder',
              responseKind: {
                group: group.metadata.name,
                version: v.version,
                kind: group.metadata.name === 'custom.metrics.k8s.io' ? 'MetricValueList' : 'ExternalMetricValueList',
              },
              scope: 'Namespaced',
              singularResource: 'discovery-placeholder',
              verbs: ['get'],
            },
          ]);
        }
      }
    }
  });

  it('plain JSON on /apis is still the legacy APIGroupList', async () => {
    for (const accept of ['application/json, */*', 'application/json', '*/*']) {
      const res = await request(app).get('/apis').set('Accept', accept).expect(200);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(JSON.parse(res.text).kind, 'APIGroupList');
    }
  });
});

describe('ETag and If-None-Match', () => {
  it('the aggregator gets 304 with no body for an unchanged document, 200 once it changes', async () => {
    let external = [{ metric: 'jobs' }];
    const backend: MetricsBackend = {
      name: 'changing',
      external: {
        getExternalMetric: async () => [],
        listExternalMetrics: () => external,
        servesExternal: (metric) => external.some((m) => m.metric === metric),
      },
    };
    const { app } = buildTestApp({ backends: [backend] });
    const first = await request(app).get('/apis').set('Accept', AGGREGATOR_ACCEPT).expect(200);
    const etag = first.headers.etag as string;
    assert.match(etag, /^"[0-9a-f]{32}"$/);

    const unchanged = await request(app)
      .get('/apis')
      .set('Accept', AGGREGATOR_ACCEPT)
      .set('If-None-Match', etag)
      .expect(304);
    assert.equal(unchanged.headers.etag, etag);
    assert.equal(unchanged.text ?? '', '');

    external = [{ metric: 'jobs' }, { metric: 'emails' }];
    const changed = await request(app)
      .get('/apis')
      .set('Accept', AGGREGATOR_ACCEPT)
      .set('If-None-Match', etag)
      .expect(200);
    assert.notEqual(changed.headers.etag, etag);
    const names = JSON.parse(changed.text).items[1].versions[0].resources.map((r: { resource: string }) => r.resource);
    assert.deepEqual(names, ['jobs', 'emails', 'discovery-placeholder']);
  });

  it('v2 and v2beta1 carry different ETags: a cached v2 body is never confirmed for a v2beta1 client', async () => {
    const { app } = buildTestApp();
    const v2 = await request(app).get('/apis').set('Accept', V2).expect(200);
    await request(app).get('/apis').set('Accept', V2BETA1).set('If-None-Match', String(v2.headers.etag)).expect(200);
    await request(app).get('/apis').set('Accept', V2).set('If-None-Match', `W/${v2.headers.etag}`).expect(304);
  });
});
