import assert from 'node:assert/strict';
import type { Express } from 'express';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { parseConfig } from '../../src/config/load.js';
import { type Logger, silentLogger } from '../../src/observability/logger.js';
import { type AdapterMetrics, createAdapterMetrics } from '../../src/observability/metrics.js';
import type { MetricsBackend } from '../../src/providers/provider.js';
import { BackendRouter } from '../../src/providers/router.js';
import { createStaticBackend } from '../../src/providers/static/static-backend.js';
import { createApp } from '../../src/server/app.js';
import type { AuthSetup } from '../../src/server/auth/types.js';
import type { Forwarding } from '../../src/upstreams/forwarding.js';

/** The static config the API tests read: objects in two namespaces, a node, and external series. */
export const TEST_CONFIG_YAML = `
static:
  custom:
    - metric: http_requests
      resource: pods
      windowSeconds: 60
      objects:
        - { namespace: default, name: web-1, labels: { app: web, tier: front }, value: 10 }
        - { namespace: default, name: web-2, labels: { app: web, tier: back }, value: 0.5 }
        - { namespace: other, name: web-1, labels: { app: web }, value: 99 }
    - metric: queue_lag
      resource: deployments.apps
      objects:
        - { namespace: default, name: worker, labels: { app: worker }, value: 1234567 }
    - metric: pressure
      resource: nodes
      objects:
        - { name: node-a, labels: { zone: a }, value: 3 }
    - metric: budget
      resource: namespaces
      objects:
        - { name: default, value: 7 }
  external:
    - metric: queue-depth
      series:
        - { labels: { queue: jobs }, value: 42 }
        - { labels: { queue: emails }, value: 2.25 }
    - metric: team-only
      namespaces: [team-a]
      series:
        - { value: 1 }
`;

export interface TestApp {
  app: Express;
  metrics: AdapterMetrics;
  setReady(ready: boolean): void;
}

/** The app over `backends`, by default the static backend of TEST_CONFIG_YAML. */
export function buildTestApp(
  options: {
    auth?: AuthSetup;
    backends?: MetricsBackend[];
    logger?: Logger;
    requestTimeoutMs?: number;
    forwarding?: Forwarding;
  } = {},
): TestApp {
  const backends = options.backends ?? [testConfigBackend()];
  const metrics = createAdapterMetrics(undefined, false);
  let ready = true;
  const app = createApp({
    provider: new BackendRouter(backends),
    resources: BUILTIN_RESOURCES,
    auth: options.auth,
    metrics,
    logger: options.logger ?? silentLogger(),
    readiness: { isReady: () => ready },
    version: { version: '1.2.3', gitCommit: 'abc' },
    requestTimeoutMs: options.requestTimeoutMs ?? 500,
    ...(options.forwarding ? { forwarding: options.forwarding } : {}),
  });
  return {
    app,
    metrics,
    setReady: (r) => {
      ready = r;
    },
  };
}

function testConfigBackend(): MetricsBackend {
  const config = parseConfig(TEST_CONFIG_YAML, 'test config');
  assert(config.static);
  return createStaticBackend(config.static, {
    now: () => new Date('2026-01-01T00:00:00Z'),
    resources: BUILTIN_RESOURCES,
  });
}

/**
 * That an answer is a Kubernetes Status as kubectl and client-go decode it: JSON, exactly the
 * Status fields, Failure with `code` and `reason`, and no stack trace anywhere in the body.
 */
export function assertStatusAnswer(
  res: { status: number; text: string; headers: Record<string, string | undefined>; body: Record<string, unknown> },
  code: number,
  reason: string,
): void {
  assert.equal(res.status, code, res.text);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(res.body).sort(), [
    'apiVersion',
    'code',
    'kind',
    'message',
    'metadata',
    'reason',
    'status',
  ]);
  assert.equal(res.body.kind, 'Status');
  assert.equal(res.body.apiVersion, 'v1');
  assert.equal(res.body.status, 'Failure');
  assert.equal(res.body.code, code);
  assert.equal(res.body.reason, reason);
  assert.doesNotMatch(res.text, /at .*\.(ts|js):\d+/, 'no stack trace in the body');
}
