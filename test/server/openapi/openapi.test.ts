import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { SERVED_GROUPS } from '../../../src/api/groups.js';
import { buildOpenApiV2, buildOpenApiV3, openApiV3Paths } from '../../../src/server/openapi/documents.js';
import { createOpenApiRouter } from '../../../src/server/openapi/handlers.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests walk arbitrary JSON documents.
type Json = { [key: string]: any };

// Mirror the real app's settings that matter here: no query parser, no express ETags.
const app = express();
app.set('query parser', false);
app.disable('etag');
app.use(createOpenApiRouter({ adapterVersion: '1.2.3' }));

const PROTOBUF_V2 = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
const PROTOBUF_V3 = 'application/com.github.proto-openapi.spec.v3.v1.0+protobuf';
const SERVED = ['custom.metrics.k8s.io/v1beta2', 'custom.metrics.k8s.io/v1beta1', 'external.metrics.k8s.io/v1beta1'];

const CUSTOM_SHAPES = [
  'namespaces/{namespace}/{resource}/{name}/{metric}',
  'namespaces/{namespace}/{resource}/*/{metric}',
  '{resource}/{name}/{metric}',
  '{resource}/*/{metric}',
  'namespaces/{namespace}/metrics/{metric}',
];
const EXPECTED_PATHS = [
  ...['v1beta2', 'v1beta1'].flatMap((v) => CUSTOM_SHAPES.map((s) => `/apis/custom.metrics.k8s.io/${v}/${s}`)),
  '/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}',
];

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const CUSTOM = 'io.k8s.metrics.pkg.apis.custom_metrics';
const EXTERNAL = 'io.k8s.metrics.pkg.apis.external_metrics.v1beta1';
const EXPECTED_DEFINITIONS = [
  `${CUSTOM}.v1beta1.MetricValueList`,
  `${CUSTOM}.v1beta1.MetricValue`,
  `${CUSTOM}.v1beta2.MetricValueList`,
  `${CUSTOM}.v1beta2.MetricValue`,
  `${CUSTOM}.v1beta2.MetricIdentifier`,
  `${EXTERNAL}.ExternalMetricValueList`,
  `${EXTERNAL}.ExternalMetricValue`,
  'io.k8s.api.core.v1.ObjectReference',
  `${META}.LabelSelector`,
  `${META}.LabelSelectorRequirement`,
  `${META}.ListMeta`,
  `${META}.Status`,
  `${META}.Time`,
  'io.k8s.apimachinery.pkg.api.resource.Quantity',
].sort();

function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) => (key === '$ref' ? [String(value)] : refsIn(value)));
}

/** Every `$ref` in the document that does not name one of its own models. */
function danglingRefs(document: Json, prefix: string, models: Json): string[] {
  return refsIn(document).filter((ref) => !ref.startsWith(prefix) || !(ref.slice(prefix.length) in models));
}

function failureStatus(reason: string, code: number) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, code };
}

/** A small JSON-schema check, enough to prove the published schemas describe the real bodies. */
function violations(value: unknown, schema: Json, models: Json, at = '$'): string[] {
  if (schema.$ref) return violations(value, models[schema.$ref.split('/').pop()], models, at);
  if (value === null) return schema.nullable ? [] : [`${at}: null is not allowed`];
  if (schema.allOf) return schema.allOf.flatMap((s: Json) => violations(value, s, models, at));
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return [`${at}: expected a string`];
      if (schema.format === 'date-time' && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(value))
        return [`${at}: not RFC 3339`];
      return [];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${at}: expected an integer`];
    case 'array':
      if (!Array.isArray(value)) return [`${at}: expected an array`];
      return value.flatMap((item, i) => violations(item, schema.items, models, `${at}[${i}]`));
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: expected an object`];
      const entries = Object.entries(value as Json);
      const problems = (schema.required ?? [])
        .filter((k: string) => !(k in (value as Json)))
        .map((k: string) => `${at}.${k}: required`);
      for (const [key, item] of entries) {
        const property = schema.properties?.[key] ?? schema.additionalProperties;
        if (!property) problems.push(`${at}.${key}: not in the schema`);
        else problems.push(...violations(item, property, models, `${at}.${key}`));
      }
      return problems;
    }
    default:
      return [`${at}: schema has no type`];
  }
}

function pathTemplateVariables(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
}

describe('OpenAPI v2 document', () => {
  const doc = buildOpenApiV2('1.2.3') as Json;

  it('is Swagger 2.0 with the adapter title and version', () => {
    assert.equal(doc.swagger, '2.0');
    assert.deepEqual(doc.info, { title: 'hpa-metrics-adapter', version: '1.2.3' });
  });

  it('has exactly one path per URL shape of every served group-version', () => {
    assert.deepEqual(Object.keys(doc.paths).sort(), [...EXPECTED_PATHS].sort());
    for (const group of SERVED_GROUPS) {
      for (const version of group.versions) {
        assert.ok(
          Object.keys(doc.paths).some((p) => p.startsWith(`/apis/${group.name}/${version}/`)),
          `${group.name}/${version} has paths`,
        );
      }
    }
  });

  it('declares every path variable as a required path parameter and every operation completely', () => {
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      const pathParameters = item.parameters.filter((p: Json) => p.in === 'path');
      assert.deepEqual(pathParameters.map((p: Json) => p.name).sort(), pathTemplateVariables(path).sort(), path);
      for (const p of [...item.parameters, ...item.get.parameters]) {
        assert.equal(p.type, 'string', `${path} ${p.name}`);
        assert.equal(p.required, p.in === 'path', `${path} ${p.name}`);
      }
      const op = item.get;
      assert.ok(!operationIds.has(op.operationId), `duplicate operationId ${op.operationId}`);
      operationIds.add(op.operationId);
      assert.deepEqual(Object.keys(op.responses).sort(), ['200', '400', '401', '403', '404', '503']);
      for (const code of ['400', '401', '403', '404', '503'])
        assert.equal(op.responses[code].schema.$ref, `#/definitions/${META}.Status`);
      const [, , group, version] = path.split('/');
      const kind = group === 'custom.metrics.k8s.io' ? 'MetricValueList' : 'ExternalMetricValueList';
      assert.deepEqual(op['x-kubernetes-group-version-kind'], { group, version, kind }, path);
      assert.ok(['get', 'list'].includes(op['x-kubernetes-action']));
    }
  });

  it('names its definitions as Kubernetes does, and every $ref resolves to one of them', () => {
    assert.deepEqual(Object.keys(doc.definitions).sort(), EXPECTED_DEFINITIONS);
    assert.ok(refsIn(doc).length > 20);
    assert.deepEqual(danglingRefs(doc, '#/definitions/', doc.definitions), []);
  });

  it('the $ref check reports a reference to a missing model', () => {
    const broken = structuredClone(doc);
    delete broken.definitions[`${META}.ListMeta`];
    assert.deepEqual(
      new Set(danglingRefs(broken, '#/definitions/', broken.definitions)),
      new Set([`#/definitions/${META}.ListMeta`]),
    );
  });

  it('gives the exact field shapes of each metric value', () => {
    const fields: Record<string, string> = {
      [`${CUSTOM}.v1beta1.MetricValue`]: 'describedObject metricName selector timestamp value window',
      [`${CUSTOM}.v1beta2.MetricValue`]: 'describedObject metric timestamp value windowSeconds',
      [`${CUSTOM}.v1beta2.MetricIdentifier`]: 'name selector',
      [`${EXTERNAL}.ExternalMetricValue`]: 'metricLabels metricName timestamp value window',
      [`${CUSTOM}.v1beta1.MetricValueList`]: 'apiVersion items kind metadata',
      [`${CUSTOM}.v1beta2.MetricValueList`]: 'apiVersion items kind metadata',
      [`${EXTERNAL}.ExternalMetricValueList`]: 'apiVersion items kind metadata',
    };
    for (const [name, expected] of Object.entries(fields)) {
      assert.deepEqual(Object.keys(doc.definitions[name].properties).sort(), expected.split(' '), name);
    }
    assert.deepEqual(doc.definitions[`${CUSTOM}.v1beta1.MetricValue`].properties.window, {
      description: doc.definitions[`${CUSTOM}.v1beta1.MetricValue`].properties.window.description,
      type: 'integer',
      format: 'int64',
    });
    assert.equal(doc.definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'].type, 'string');
    assert.equal(
      doc.definitions[`${EXTERNAL}.ExternalMetricValue`].properties.metricLabels.additionalProperties.type,
      'string',
    );
  });

  it('claims a group-version-kind only for its own list kinds, never for shared meta models', () => {
    const claimed = Object.entries<Json>(doc.definitions).filter(([, d]) => d['x-kubernetes-group-version-kind']);
    assert.deepEqual(claimed.map(([name]) => name).sort(), [
      `${CUSTOM}.v1beta1.MetricValueList`,
      `${CUSTOM}.v1beta2.MetricValueList`,
      `${EXTERNAL}.ExternalMetricValueList`,
    ]);
  });
});

describe('OpenAPI v3 documents', () => {
  it('lists the three served group-versions', () => {
    assert.deepEqual(
      openApiV3Paths().map((gv) => gv.groupVersion),
      SERVED,
    );
    assert.deepEqual(
      openApiV3Paths().map((gv) => gv.path),
      SERVED.map((gv) => `apis/${gv}`),
    );
  });

  it('is undefined for a group-version that is not served', () => {
    assert.equal(buildOpenApiV3('custom.metrics.k8s.io/v2'), undefined);
    assert.equal(buildOpenApiV3('apps/v1'), undefined);
  });

  for (const groupVersion of SERVED) {
    it(`${groupVersion}: OpenAPI 3.0 with only its own paths, and components that resolve`, () => {
      const doc = buildOpenApiV3(groupVersion, '1.2.3') as Json;
      assert.match(doc.openapi, /^3\.0\.\d+$/);
      assert.deepEqual(doc.info, { title: 'hpa-metrics-adapter', version: '1.2.3' });
      assert.deepEqual(
        Object.keys(doc.paths).sort(),
        EXPECTED_PATHS.filter((p) => p.startsWith(`/apis/${groupVersion}/`)).sort(),
      );
      assert.deepEqual(danglingRefs(doc, '#/components/schemas/', doc.components.schemas), []);
      for (const item of Object.values<Json>(doc.paths)) {
        for (const p of [...item.parameters, ...item.get.parameters]) assert.deepEqual(p.schema, { type: 'string' });
        assert.ok(
          item.get.responses['200'].content['application/json'].schema.$ref.startsWith('#/components/schemas/'),
        );
      }
    });
  }

  const check = (groupVersion: string, model: string, body: unknown) =>
    violations(
      body,
      { $ref: `#/components/schemas/${model}` },
      (buildOpenApiV3(groupVersion) as Json).components.schemas,
    );
  const pod = { kind: 'Pod', namespace: 'default', name: 'web-1', apiVersion: '/v1' };

  it('describes the v1beta1 body the HPA decodes, selector null included', () => {
    const body = {
      kind: 'MetricValueList',
      apiVersion: 'custom.metrics.k8s.io/v1beta1',
      metadata: {},
      items: [
        {
          describedObject: pod,
          metricName: 'http_requests',
          timestamp: '2026-01-01T00:00:00Z',
          window: 60,
          value: '10',
          selector: null,
        },
      ],
    };
    const model = `${CUSTOM}.v1beta1.MetricValueList`;
    assert.deepEqual(check('custom.metrics.k8s.io/v1beta1', model, body), []);
    const v1beta2Field = { ...body, items: [{ ...body.items[0], windowSeconds: 60 }] };
    assert.deepEqual(check('custom.metrics.k8s.io/v1beta1', model, v1beta2Field), [
      '$.items[0].windowSeconds: not in the schema',
    ]);
  });

  it('describes the v1beta2 and external bodies', () => {
    const v1beta2 = {
      kind: 'MetricValueList',
      apiVersion: 'custom.metrics.k8s.io/v1beta2',
      metadata: {},
      items: [
        {
          describedObject: pod,
          metric: { name: 'http_requests', selector: { matchLabels: { app: 'web' } } },
          timestamp: '2026-01-01T00:00:00Z',
          windowSeconds: 60,
          value: '10',
        },
      ],
    };
    const external = {
      kind: 'ExternalMetricValueList',
      apiVersion: 'external.metrics.k8s.io/v1beta1',
      metadata: {},
      items: [
        {
          metricName: 'sqs-queue-length',
          metricLabels: { 'queue-name': 'jobs' },
          timestamp: '2026-01-01T00:00:00Z',
          value: '42',
        },
      ],
    };
    assert.deepEqual(check('custom.metrics.k8s.io/v1beta2', `${CUSTOM}.v1beta2.MetricValueList`, v1beta2), []);
    const externalModel = `${EXTERNAL}.ExternalMetricValueList`;
    assert.deepEqual(check('external.metrics.k8s.io/v1beta1', externalModel, external), []);
    const missingFields = { ...external, items: [{ metricName: 'q', value: 42 }] };
    assert.deepEqual(check('external.metrics.k8s.io/v1beta1', externalModel, missingFields), [
      '$.items[0].metricLabels: required',
      '$.items[0].timestamp: required',
      '$.items[0].value: expected a string',
    ]);
  });
});

describe('OpenAPI HTTP endpoints', () => {
  it('/openapi/v2 answers the aggregator (Accept: application/json) with the document and a strong ETag', async () => {
    const res = await request(app).get('/openapi/v2').set('Accept', 'application/json').expect(200);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(res.body, buildOpenApiV2('1.2.3'));
    const sha512 = createHash('sha512').update(res.text).digest('hex').toUpperCase();
    assert.equal(res.headers.etag, `"${sha512}"`);
    assert.equal(res.headers['cache-control'], 'no-cache, private');
    assert.equal(res.headers.vary, 'Accept');
  });

  it('answers 304 with no body when If-None-Match carries the current ETag, weak or in a list', async () => {
    const { headers } = await request(app).get('/openapi/v2').expect(200);
    const etag = headers.etag as string;
    for (const ifNoneMatch of [etag, `W/${etag}`, `"stale", ${etag}`, '*']) {
      const res = await request(app).get('/openapi/v2').set('If-None-Match', ifNoneMatch).expect(304);
      assert.equal(res.text, '');
      assert.equal(res.headers.etag, etag);
    }
    await request(app).get('/openapi/v2').set('If-None-Match', '"stale"').expect(200);
  });

  it('/openapi/v3 lists each group-version with a serverRelativeURL that answers 200 with resolvable components', async () => {
    const discovery = await request(app).get('/openapi/v3').expect(200);
    assert.deepEqual(Object.keys(discovery.body.paths).sort(), SERVED.map((gv) => `apis/${gv}`).sort());
    for (const [path, { serverRelativeURL }] of Object.entries<Json>(discovery.body.paths)) {
      assert.match(serverRelativeURL, new RegExp(`^/openapi/v3/${path.replaceAll('.', '\\.')}\\?hash=[0-9A-F]{128}$`));
      const res = await request(app).get(serverRelativeURL).expect(200);
      assert.match(res.body.openapi, /^3\.0\./);
      assert.deepEqual(danglingRefs(res.body, '#/components/schemas/', res.body.components.schemas), []);
      assert.equal(res.headers.etag, `"${new URL(serverRelativeURL, 'http://x').searchParams.get('hash')}"`);
      assert.equal(res.headers['cache-control'], 'public, immutable, max-age=31536000');
    }
  });

  it('a group-version without a current hash is served but must be revalidated', async () => {
    const noHash = await request(app).get('/openapi/v3/apis/custom.metrics.k8s.io/v1beta2').expect(200);
    assert.equal(noHash.headers['cache-control'], 'no-cache, private');
    const staleHash = await request(app).get('/openapi/v3/apis/custom.metrics.k8s.io/v1beta2?hash=ABC').expect(200);
    assert.equal(staleHash.headers['cache-control'], 'no-cache, private');
    assert.deepEqual(staleHash.body, noHash.body);
    await request(app)
      .get('/openapi/v3/apis/custom.metrics.k8s.io/v1beta2')
      .set('If-None-Match', noHash.headers.etag as string)
      .expect(304);
  });

  it('serves JSON without an Accept header (the aggregator sends none for /openapi/v3) and for */*', async () => {
    await request(app).get('/openapi/v3').unset('Accept').expect(200);
    await request(app).get('/openapi/v2').set('Accept', 'application/json, */*').expect(200);
    await request(app)
      .get('/openapi/v3/apis/external.metrics.k8s.io/v1beta1')
      .set('Accept', `${PROTOBUF_V3}, application/json;q=0.5`)
      .expect(200);
  });

  it('answers 406 with a Status when the client accepts only protobuf', async () => {
    for (const [path, accept] of [
      ['/openapi/v2', PROTOBUF_V2],
      ['/openapi/v3/apis/custom.metrics.k8s.io/v1beta1', PROTOBUF_V3],
    ] as const) {
      const res = await request(app).get(path).set('Accept', accept).expect(406);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      assert.equal(res.headers.etag, undefined);
      const { message, ...rest } = res.body;
      assert.deepEqual(rest, failureStatus('NotAcceptable', 406));
      assert.match(message, /application\/json/);
      assert.ok(message.includes(accept));
    }
  });

  it('answers 404 with a Status naming the served group-versions for one it does not serve', async () => {
    for (const path of ['/openapi/v3/apis/custom.metrics.k8s.io/v9', '/openapi/v3/apis/apps/v1']) {
      const res = await request(app).get(path).expect(404);
      const { message, ...rest } = res.body;
      assert.deepEqual(rest, failureStatus('NotFound', 404));
      assert.match(
        message,
        /no OpenAPI v3 document for .*; this adapter serves custom\.metrics\.k8s\.io\/v1beta2, custom\.metrics\.k8s\.io\/v1beta1, external\.metrics\.k8s\.io\/v1beta1/,
      );
    }
  });
});
