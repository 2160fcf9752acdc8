import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import request from 'supertest';
import { z } from 'zod';
import { ApiError } from '../../src/api/errors.js';
import { parseConfigWith } from '../../src/config/load.js';
import { configSchemaFor } from '../../src/config/schema.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { BackendModule } from '../../src/providers/backend-module.js';
import { failurePolicySchema } from '../../src/providers/failure-policy/config.js';
import { policyLookup } from '../../src/providers/failure-policy/policies.js';
import type { MetricsBackend } from '../../src/providers/provider.js';
import { BACKEND_MODULES } from '../../src/providers/registry.js';
import { ConfigError } from '../../src/schema/errors.js';
import { finiteNumber, metricName } from '../../src/schema/fields.js';
import { type RunningBackends, startBackends } from '../../src/startup/backends.js';
import { buildTestApp } from '../support/app.js';

/**
 * A backend joins the adapter by its module alone: this one lives in this file, and the config
 * file, the caches and the failure policies take it in through the registry like the built-ins.
 */
const fakeSectionSchema = z
  .object({
    metrics: z
      .array(
        z
          .object({
            name: metricName,
            value: finiteNumber,
            /** The load fails (503) instead of answering. */
            down: z.boolean().default(false),
            failurePolicy: failurePolicySchema.optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();
type FakeSection = z.infer<typeof fakeSectionSchema>;

const loads: string[] = [];

const fakeModule: BackendModule<'fake', FakeSection, MetricsBackend> = {
  key: 'fake',
  schema: fakeSectionSchema,
  create(section, env) {
    if (!section) return undefined;
    const { cache, now } = env.context();
    const byName = new Map(section.metrics.map((m) => [m.name, m]));
    const listed = section.metrics.map((m) => ({ metric: m.name }));
    return {
      name: 'fake',
      external: {
        listExternalMetrics: () => listed,
        servesExternal: (metric) => byName.has(metric),
        getExternalMetric: (req) =>
          cache.fetch(
            `fake/${req.metric}`,
            async () => {
              loads.push(req.metric);
              const metric = byName.get(req.metric);
              if (!metric || metric.down) throw ApiError.unavailable(`fake backend: ${req.metric} is down`);
              return [{ labels: {}, value: metric.value, timestamp: now() }];
            },
            req,
          ),
      },
    };
  },
  failurePolicies: (section) =>
    policyLookup(
      undefined,
      (section?.metrics ?? []).map((m) => [m.name, m.failurePolicy]),
    ),
};

const schema = configSchemaFor([...BACKEND_MODULES, fakeModule]);

const CONFIG = `
fake:
  metrics:
    - { name: fake-depth, value: 5 }
    - { name: fake-broken, value: 1, down: true, failurePolicy: { onError: 3 } }
cache:
  fake: { ttl: 1m }
`;

describe('a backend module added outside src/', () => {
  const registry = new Registry();
  let running: RunningBackends | undefined;
  after(() => running?.close());

  it('has its section and its cache settings validated with the config file', () => {
    const config = parseConfigWith(schema, CONFIG, 'fake.yaml');
    assert.equal(config.fake?.metrics[0]?.name, 'fake-depth');
    assert.equal(config.cache?.fake?.ttl, 60_000);
    assert.throws(
      () => parseConfigWith(schema, 'fake:\n  metrics:\n    - { name: "no spaces", value: 1 }\n', 'bad.yaml'),
      (error: unknown) => error instanceof ConfigError && /field fake\.metrics\[0\]\.name/.test(error.message),
    );
    assert.throws(
      () => parseConfigWith(schema, 'cache:\n  fake: { tll: 1m }\n', 'bad.yaml'),
      (error: unknown) => error instanceof ConfigError && /cache\.fake/.test(error.message),
    );
  });

  it('is served over HTTP through its cache, and a failing metric answers as its failure policy says', async () => {
    running = await startBackends(parseConfigWith(schema, CONFIG, 'fake.yaml'), {
      flags: {},
      logger: silentLogger(),
      registry,
      modules: [...BACKEND_MODULES, fakeModule],
    });
    assert.deepEqual(
      running.router.current.map((b) => b.name),
      ['fake'],
    );
    const { app } = buildTestApp({ backends: [...running.router.current] });
    const ask = (metric: string) =>
      request(app).get(`/apis/external.metrics.k8s.io/v1beta1/namespaces/default/${metric}`);

    for (let i = 0; i < 2; i++) {
      const res = await ask('fake-depth');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.items[0].value, '5');
    }
    assert.deepEqual(loads, ['fake-depth'], 'the second request is a hit of the cache made for the module');

    const broken = await ask('fake-broken');
    assert.equal(broken.status, 200, broken.text);
    assert.equal(broken.body.items[0].value, '3', 'onError: 3');
    const fallbacks = await registry.getSingleMetric('hpa_metrics_adapter_fallbacks_total')?.get();
    assert.deepEqual(
      fallbacks?.values.map((v) => [v.labels, v.value]),
      [[{ backend: 'fake', metric: 'fake-broken', reason: 'error_value' }, 1]],
    );
  });
});
