import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/load.js';
import { decodeDefinition } from '../../src/definitions/resource.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startBackends } from '../../src/startup/backends.js';

/**
 * The definitions' caches, one per backend and TTL, are held only while a served definition uses
 * them: a team that changes its definition's cache.ttl many times leaves one cache, not one per
 * TTL it ever had, and a cache goes with the last definition that used it.
 */
const CONFIG = `
prometheus:
  url: http://127.0.0.1:9
definitions:
  enabled: true
  minTtl: 1s
  rules:
  - namespaces: ["*"]
    prometheus: {}
`;

const definition = (name: string, ttl: string) =>
  decodeDefinition({
    metadata: { namespace: 'team-a', name, generation: 1, resourceVersion: '1' },
    spec: { prometheus: { query: 'sum(up)' }, cache: { ttl } },
  });

describe("definitions' caches", () => {
  it('stay one per TTL in use while a definition changes its TTL 40 times, and go with the last definition', async () => {
    const registry = new Registry();
    const running = await startBackends(parseConfig(CONFIG, 'config.yaml'), {
      flags: {},
      logger: silentLogger(),
      registry,
    });
    const backend = running.definitions()?.backend;
    assert.ok(backend);
    const definitionCaches = async () =>
      ((await registry.getSingleMetric('hpa_metrics_adapter_cache_entries')?.get())?.values ?? [])
        .map((v) => String(v.labels.backend))
        .filter((name) => name.startsWith('definitions:'))
        .sort();
    try {
      backend.upsert(definition('steady', '30s'));
      for (let i = 0; i < 40; i++) {
        backend.upsert(definition('jobs', `${i + 2}s`));
        await backend.settled();
      }
      assert.deepEqual(await definitionCaches(), ['definitions:prometheus:30000ms', 'definitions:prometheus:41000ms']);
      backend.remove('team-a', 'jobs');
      await backend.settled();
      assert.deepEqual(await definitionCaches(), ['definitions:prometheus:30000ms']);
    } finally {
      await running.close();
    }
  });
});
