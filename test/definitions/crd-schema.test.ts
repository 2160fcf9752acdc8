import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { run } from '@bufbuild/cel';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';

/**
 * The MetricDefinition CRD's own openAPIV3Schema, checked with a real JSON-schema validator
 * (ajv), and its CEL rules (x-kubernetes-validations) run with a real CEL evaluator
 * (@bufbuild/cel), both against the README's examples and against broken copies of them.
 */
const crd = parse(readFileSync('deploy/base/crd-metricdefinitions.yaml', 'utf8'));
const version = crd.spec.versions[0];
const openApi = version.schema.openAPIV3Schema;

type Schema = Record<string, unknown>;

/** The structural schema as JSON schema: int-or-string as anyOf, Kubernetes extensions dropped. */
function jsonSchemaOf(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Schema>).map(([name, child]) => [name, jsonSchemaOf(child)]),
      );
    } else if (key === 'items') out.items = jsonSchemaOf(value as Schema);
    else out[key] = value;
  }
  if (schema['x-kubernetes-int-or-string']) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  // Structural schemas prune unknown fields; an example carrying one would be silently changed.
  if (out.type === 'object' && out.properties && schema !== openApi.properties.metadata)
    out.additionalProperties = false;
  return out;
}

const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(jsonSchemaOf(openApi));

/** Every CEL rule of the schema with the path of the value it applies to. */
function celRules(schema: Schema, path: string[] = []): { path: string[]; rule: string; message: string }[] {
  const own = ((schema['x-kubernetes-validations'] as { rule: string; message: string }[] | undefined) ?? []).map(
    (r) => ({ path, ...r }),
  );
  const children = Object.entries((schema.properties as Record<string, Schema> | undefined) ?? {}).flatMap(
    ([name, child]) => celRules(child, [...path, name]),
  );
  const items = schema.items ? celRules(schema.items as Schema, [...path, '[]']) : [];
  return [...own, ...children, ...items];
}

/** The values at a path (`[]` fans out over a list). */
function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  if (value === undefined) return [];
  const [step, ...rest] = path;
  if (step === undefined) return [value];
  if (step === '[]') return Array.isArray(value) ? value.flatMap((item) => valuesAt(item, rest)) : [];
  return valuesAt((value as Record<string, unknown>)[step], rest);
}

/** JSON as CEL sees a Kubernetes object: objects are maps, whole numbers ints. */
// biome-ignore lint/suspicious/noExplicitAny: CEL input is any JSON value, rebuilt as maps and bigints
function celValue(value: unknown): any {
  if (Array.isArray(value)) return value.map(celValue);
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (value && typeof value === 'object') return new Map(Object.entries(value).map(([k, v]) => [k, celValue(v)]));
  return value;
}

/** The messages of the CEL rules the object breaks. */
function celFailures(object: unknown): string[] {
  return celRules(openApi).flatMap(({ path, rule, message }) =>
    valuesAt(object, path).flatMap((self) => (run(rule, { self: celValue(self) }) === true ? [] : [message])),
  );
}

function readmeDefinitions(): Record<string, unknown>[] {
  const readme = readFileSync('README.md', 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks
    .flatMap((block) => parseAllDocuments(block).map((d) => d.toJS() as Record<string, unknown>))
    .filter((doc) => doc?.kind === 'MetricDefinition');
}

describe('the MetricDefinition CRD', () => {
  it('is namespaced, v1alpha1 of our own group, with a short name, a status subresource and the printer columns', () => {
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.equal(crd.spec.group, 'hpa-metrics-adapter.io');
    assert.equal(version.name, 'v1alpha1');
    assert.deepEqual(crd.spec.names.shortNames, ['mdef']);
    assert.deepEqual(version.subresources, { status: {} });
    assert.deepEqual(
      version.additionalPrinterColumns.map((c: { name: string }) => c.name),
      ['Metric', 'Value', 'Updated', 'Ready', 'Reason', 'Age'],
    );
  });

  it('bounds every string and list of the spec (no unbounded input reaches the adapter)', () => {
    const unbounded: string[] = [];
    const visit = (schema: Schema, path: string) => {
      if (
        schema.type === 'string' &&
        schema.maxLength === undefined &&
        schema.enum === undefined &&
        schema.format === undefined
      )
        unbounded.push(path);
      if (schema.type === 'array' && schema.maxItems === undefined) unbounded.push(path);
      for (const [name, child] of Object.entries((schema.properties as Record<string, Schema>) ?? {}))
        visit(child, `${path}.${name}`);
      if (schema.items) visit(schema.items as Schema, `${path}[]`);
    };
    visit(openApi.properties.spec, 'spec');
    visit(openApi.properties.status, 'status');
    assert.deepEqual(unbounded, []);
  });

  const examples = readmeDefinitions();
  it('the README has an SQS and a PromQL example', () => {
    assert.deepEqual(
      examples.map((e) => Object.keys(e.spec as object).find((k) => ['sqs', 'prometheus', 'cloudwatch'].includes(k))),
      ['sqs', 'prometheus'],
    );
  });

  for (const example of examples) {
    const name = (example.metadata as { name: string }).name;
    it(`README example ${name} passes the schema and every CEL rule`, () => {
      assert.ok(validate(example), JSON.stringify(validate.errors));
      assert.deepEqual(celFailures(example), []);
    });
  }

  const base = examples[0] as { spec: Record<string, unknown> };
  it('takes the values the config takes for onError and noData: decimals and quantities as strings', () => {
    for (const [onError, noData] of [
      [3, 0],
      ['0.5', '1500m'],
      ['-2.25', '1e3'],
      ['fail', '2Ki'],
    ]) {
      const copy = structuredClone(base);
      copy.spec.failurePolicy = { onError, noData };
      assert.ok(validate(copy), JSON.stringify(validate.errors));
      assert.deepEqual(celFailures(copy), [], `${onError} ${noData}`);
    }
  });

  const broken: [string, (spec: Record<string, unknown>) => void, 'schema' | string][] = [
    [
      'two backends',
      (s) => Object.assign(s, { prometheus: { query: 'up' } }),
      'set exactly one of prometheus, sqs and cloudwatch',
    ],
    ['no backend', (s) => delete s.sqs, 'set exactly one of prometheus, sqs and cloudwatch'],
    [
      'two queue fields',
      (s) => Object.assign(s.sqs as object, { queueNames: ['a'] }),
      'set exactly one of queueName, queueUrl, queueNames and queueNamePrefix',
    ],
    [
      'maxStale with onError fail',
      (s) => Object.assign(s.failurePolicy as object, { onError: 'fail' }),
      'maxStale applies only to onError lastGood',
    ],
    [
      'onError a word',
      (s) => Object.assign(s, { failurePolicy: { onError: 'sometimes' } }),
      'must be lastGood, fail, a whole number or a quantity such as "0.5"',
    ],
    [
      'a 1 MiB query',
      (s) => Object.assign(s, { sqs: undefined, prometheus: { query: 'x'.repeat(1024 * 1024) } }),
      'schema',
    ],
    [
      '101 queues',
      (s) => Object.assign(s, { sqs: { queueNames: Array.from({ length: 101 }, (_, i) => `q${i}`) } }),
      'schema',
    ],
    ['an unknown field', (s) => Object.assign(s, { query: 'up' }), 'schema'],
    ['a queue name with a slash', (s) => Object.assign(s, { sqs: { queueName: 'team-b/jobs' } }), 'schema'],
  ];
  for (const [what, breakIt, expected] of broken) {
    it(`refuses ${what}`, () => {
      const copy = structuredClone(base);
      breakIt(copy.spec);
      for (const [key, value] of Object.entries(copy.spec)) if (value === undefined) delete copy.spec[key];
      if (expected === 'schema') assert.equal(validate(copy), false);
      else assert.ok(celFailures(copy).includes(expected), `CEL failures: ${celFailures(copy).join('; ')}`);
    });
  }
});
