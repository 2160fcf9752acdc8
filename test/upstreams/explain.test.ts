import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CertDir, createCertDir, issueServingCert } from '../support/certs.js';
import { explain } from '../support/explain.js';
import { type KedaLikeServer, startKedaLikeServer } from '../support/keda-like-server.js';

describe('explain with upstreams', () => {
  let certs: CertDir;
  let keda: KedaLikeServer;
  let configPath: string;
  before(async () => {
    certs = await createCertDir('explain-upstreams-');
    const ca = await certs.createCa('ca');
    keda = await startKedaLikeServer(await issueServingCert(ca), ['t']);
    keda.announced.push('announced-one');
    const token = await certs.writeText('token', 't');
    configPath = join(certs.dir, 'config.yaml');
    await writeFile(
      configPath,
      `upstreams:
  - name: keda
    url: ${keda.url}
    groupVersions: [external.metrics.k8s.io/v1beta1]
    caFile: ${ca.certPath}
    tokenFile: ${token}
    metrics: { matching: ['s[0-9]+-.*'] }
`,
    );
  });
  after(async () => {
    await keda.close();
    await certs.cleanup();
  });

  it('names the upstream a pattern sends a metric to', async () => {
    const { code, text } = await explain('--config', configPath, '--external', 's0-rabbitmq-orders');
    assert.equal(code, 0, text);
    assert.match(text, /keda https:\/\/127\.0\.0\.1:\d+: external\.metrics\.k8s\.io\/v1beta1: 1 names/);
    assert.match(
      text,
      /external\.metrics\.k8s\.io\/v1beta1: forwarded to "keda", as it matches one of its metrics\.matching patterns/,
    );
  });

  it('names the upstream whose discovery announces it', async () => {
    const { code, text } = await explain('--config', configPath, '--external', 'announced-one');
    assert.equal(code, 0, text);
    assert.match(text, /forwarded to "keda", which announces it in its discovery/);
  });

  it('says when no upstream takes it, and exits 1 without a backend to ask', async () => {
    const { code, text } = await explain('--config', configPath, '--external', 'nobody');
    assert.equal(code, 1);
    assert.match(text, /external\.metrics\.k8s\.io\/v1beta1: not forwarded/);
    assert.match(text, /external metric nobody: a request gets 404 NotFound: .*not served by any configured backend/);
  });

  it('says when the upstream cannot be asked', async () => {
    await keda.setDown(true);
    try {
      const { text } = await explain('--config', configPath, '--external', 's0-x');
      assert.match(text, /discovery failed for some group-version/);
    } finally {
      await keda.setDown(false);
    }
  });
});
