import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Express } from 'express';
import { Registry } from 'prom-client';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { DEFAULT_CACHE_SETTINGS } from '../../src/cache/config.js';
import { createQueryCache } from '../../src/cache/lru-query-cache.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createAdapterMetrics } from '../../src/observability/metrics.js';
import { BackendRouter } from '../../src/providers/router.js';
import { createStaticBackend } from '../../src/providers/static/static-backend.js';
import { createApp } from '../../src/server/app.js';
import { createUpstreamMetrics } from '../../src/upstreams/metrics.js';
import { closeUpstreams, UpstreamSet } from '../../src/upstreams/upstream-set.js';
import { type CertDir, createCertDir, issueServingCert, type TestCa } from '../support/certs.js';
import { type KedaLikeServer, startKedaLikeServer } from '../support/keda-like-server.js';

/**
 * The app in-process, with its static backend (external `queue-depth`, custom pods/http_requests)
 * and the KEDA-like server as an upstream over real HTTPS, authenticated with a token file.
 */
export interface UpstreamHarness {
  app: Express;
  keda: KedaLikeServer;
  upstreams: UpstreamSet;
  registry: Registry;
  tokenPath: string;
  certs: CertDir;
  ca: TestCa;
  close(): Promise<void>;
}

export const OWN_CONFIG = `
static:
  custom:
    - metric: http_requests
      resource: pods
      objects: [{ namespace: default, name: web-1, value: 10 }]
  external:
    - metric: queue-depth
      series: [{ labels: { queue: jobs }, value: 42 }]
`;

/** `upstream` is the YAML of one upstream's settings after `url`/`caFile`/`tokenFile`, indented 4. */
export async function startUpstreamHarness(upstream = '', requestTimeoutMs = 2000): Promise<UpstreamHarness> {
  const certs = await createCertDir('upstreams-');
  const ca = await certs.createCa('keda-ca');
  const keda = await startKedaLikeServer(await issueServingCert(ca), ['our-token']);
  const tokenPath = join(certs.dir, 'token');
  await writeFile(tokenPath, 'our-token\n');
  const config = parseConfig(
    `${OWN_CONFIG}
upstreams:
  - name: keda
    url: ${keda.url}
    groupVersions: [external.metrics.k8s.io/v1beta1]
    caFile: ${ca.certPath}
    tokenFile: ${tokenPath}
${upstream}`,
    'test',
  );
  const registry = new Registry();
  const router = new BackendRouter([
    createStaticBackend(config.static as NonNullable<typeof config.static>, { now: () => new Date(0) }),
  ]);
  const ours = {
    servesExternal: (m: string) => router.servesExternal(m),
    servesCustom: router.servesCustom.bind(router),
    ownsName: (_group: string, name: string) => router.servesExternal(name),
  };
  const built = await UpstreamSet.build(config.upstreams ?? [], ours, {
    logger: silentLogger(),
    metrics: createUpstreamMetrics(registry),
    cacheFor: (name) => createQueryCache(`upstream:${name}`, DEFAULT_CACHE_SETTINGS, { registry }),
  });
  const upstreams = new UpstreamSet(built, ours);
  await Promise.all(built.map((u) => u.discovery.refresh()));
  const app = createApp({
    provider: router,
    resources: BUILTIN_RESOURCES,
    forwarding: upstreams,
    metrics: createAdapterMetrics(new Registry(), false),
    logger: silentLogger(),
    readiness: { isReady: () => true },
    version: { version: 'test', gitCommit: 'test' },
    requestTimeoutMs,
  });
  return {
    app,
    keda,
    upstreams,
    registry,
    tokenPath,
    certs,
    ca,
    async close() {
      await closeUpstreams(upstreams.current);
      await keda.close();
      await certs.cleanup();
    },
  };
}
