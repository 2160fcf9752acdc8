import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parseFlags } from '../../src/cli/flags.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startBackends } from '../../src/startup/backends.js';

const ONLY_UPSTREAMS = `upstreams:
  - name: old-adapter
    url: https://127.0.0.1:1
    groupVersions: [external.metrics.k8s.io/v1beta1]
    metrics: { unserved: true }
`;

describe('upstreams at start and on reload', () => {
  it('a config of upstreams alone starts (a migration forwards everything first), and a reload swaps them', async () => {
    const running = await startBackends(parseConfig(ONLY_UPSTREAMS, 'c.yaml'), {
      flags: parseFlags([]),
      logger: silentLogger(),
      registry: new Registry(),
    });
    try {
      assert.deepEqual(running.router.current, []);
      assert.deepEqual(
        running.upstreams.current.map((u) => u.name),
        ['old-adapter'],
      );
      const target = { group: 'external.metrics.k8s.io', version: 'v1beta1', discoveryName: 'm', metric: 'm' };
      assert.equal(running.upstreams.upstreamFor(target)?.name, 'old-adapter');
      await running.apply(
        parseConfig('static:\n  external:\n    - metric: m\n      series: [{ value: 1 }]\n', 'c.yaml'),
      );
      assert.deepEqual(running.upstreams.current, []);
      assert.equal(running.upstreams.upstreamFor(target), undefined, 'ours now, and no upstream left');
    } finally {
      await running.close();
    }
  });
});
