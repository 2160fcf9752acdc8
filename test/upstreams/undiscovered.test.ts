import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Express } from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createAdapterMetrics } from '../../src/observability/metrics.js';
import { createApp } from '../../src/server/app.js';
import { type RunningBackends, startBackends } from '../../src/startup/backends.js';
import { eventually } from '../support/adapter-client.js';

/**
 * An upstream routed by the names it announces whose discovery was never read (here: its caFile
 * cannot be read, a Secret not mounted yet): a name nobody announces may be one of its names, so
 * the answer is a 503 naming the upstream and why (docs/upstreams.md), not 404 "not served".
 * Wired as main.ts wires it (startBackends, the app with the upstreams as forwarding).
 */
const EXTERNAL = '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop';

async function appFor(upstreams: string): Promise<{ app: Express; backends: RunningBackends }> {
  const config = parseConfig(
    `
static:
  external:
    - metric: queue-depth
      series: [{ labels: { queue: jobs }, value: 42 }]
upstreams:
${upstreams}`,
    'test',
  );
  const metrics = createAdapterMetrics(new Registry(), false);
  const backends = await startBackends(config, { flags: {}, logger: silentLogger(), registry: metrics.registry });
  const app = createApp({
    provider: backends.router,
    forwarding: backends.upstreams,
    resources: BUILTIN_RESOURCES,
    metrics,
    logger: silentLogger(),
    readiness: { isReady: () => true },
    version: { version: 'test', gitCommit: 'test' },
  });
  return { app, backends };
}

describe('an upstream whose caFile cannot be read', () => {
  let announced: { app: Express; backends: RunningBackends };
  let byPattern: { app: Express; backends: RunningBackends };

  before(async () => {
    announced = await appFor(
      '  - { name: keda, url: "https://127.0.0.1:1", groupVersions: [external.metrics.k8s.io/v1beta1], caFile: /nonexistent/keda/ca.crt }\n',
    );
    byPattern = await appFor(
      '  - { name: keda, url: "https://127.0.0.1:1", groupVersions: [external.metrics.k8s.io/v1beta1], caFile: /nonexistent/keda/ca.crt, metrics: { announced: false, matching: ["s0-.*"] } }\n',
    );
  });

  after(async () => {
    await announced?.backends.close();
    await byPattern?.backends.close();
  });

  it('routing by announced names: a name nobody announces is 503 naming the upstream and its caFile', async () => {
    const res = await eventually(
      'its first discovery attempt failed',
      async () => {
        const answer = await request(announced.app).get(`${EXTERNAL}/s0-rabbitmq-orders`);
        return /cannot use its caFile/.test(answer.body.message) ? answer : undefined;
      },
      5000,
    );
    assert.equal(res.status, 503, res.text);
    assert.equal(res.body.reason, 'ServiceUnavailable');
    assert.match(
      res.body.message,
      /^external metric "s0-rabbitmq-orders" is unknown while discovery has never succeeded for upstream "keda" \(https:\/\/127\.0\.0\.1:1\/?, external\.metrics\.k8s\.io\/v1beta1\): cannot use its caFile \/nonexistent\/keda\/ca\.crt: ENOENT/,
    );
  });

  it('our own metric is still served', async () => {
    const res = await request(announced.app).get(`${EXTERNAL}/queue-depth?labelSelector=queue%3Djobs`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.items[0].value, '42');
  });

  it('routing by pattern only needs no discovery: a name it takes is 503 from the call, any other is 404', async () => {
    const taken = await request(byPattern.app).get(`${EXTERNAL}/s0-rabbitmq-orders`);
    assert.equal(taken.status, 503, taken.text);
    assert.match(taken.body.message, /served by upstream "keda" .*cannot use its caFile/);
    const other = await request(byPattern.app).get(`${EXTERNAL}/nobody-serves-this`);
    assert.equal(other.status, 404, other.text);
    assert.match(other.body.message, /is not served by any configured backend/);
  });
});
