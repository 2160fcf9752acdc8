import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { UpstreamCallFailure, UpstreamClient } from '../../src/upstreams/client.js';
import { startUpstreamHarness, type UpstreamHarness } from './harness.js';

describe('UpstreamClient', () => {
  let h: UpstreamHarness;
  before(async () => {
    h = await startUpstreamHarness();
  });
  after(() => h.close());

  it('a CA file that appears later (an optional Secret created after start) is used once it is there, read again at most every 10 s', async () => {
    const caPath = join(h.certs.dir, 'later-ca.crt');
    const [config] =
      parseConfig(
        `upstreams:\n  - { name: later, url: "${h.keda.url}", groupVersions: [external.metrics.k8s.io/v1beta1], caFile: ${caPath}, tokenFile: ${h.tokenPath} }\n`,
        't',
      ).upstreams ?? [];
    assert.ok(config);
    let now = 0;
    const client = new UpstreamClient(config, () => now);
    const signal = new AbortController().signal;
    try {
      await assert.rejects(
        client.get('/apis/external.metrics.k8s.io/v1beta1', signal),
        (error: unknown) =>
          error instanceof UpstreamCallFailure &&
          error.kind === 'credentials' &&
          error.message.startsWith(`cannot use its caFile ${caPath}: ENOENT`),
      );
      await copyFile(h.ca.certPath, caPath);
      now += 9_000;
      await assert.rejects(client.get('/apis/external.metrics.k8s.io/v1beta1', signal), /ENOENT/);
      now += 2_000;
      const answer = await client.get('/apis/external.metrics.k8s.io/v1beta1', signal);
      assert.equal(answer.status, 200);
    } finally {
      client.close();
    }
  });
});
