import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { UpstreamClient } from '../../src/upstreams/client.js';
import { type CertDir, createCertDir, issueServingCert } from '../support/certs.js';

/**
 * An upstream closes a kept-alive connection as idle just as the adapter sends on it: the GET
 * must go out again on a new connection, as the Prometheus client and the kube transport do,
 * not end as a 503 "cannot be reached".
 */

let certs: CertDir;
let server: https.Server;
let url: string;
let caPath: string;
let tokenPath: string;
let connections = 0;

before(async () => {
  certs = await createCertDir('upstream-stale-');
  const ca = await certs.createCa('upstream-ca');
  const serving = await issueServingCert(ca);
  caPath = ca.certPath;
  tokenPath = await certs.writeText('token', 'our-token\n');
  const served = new WeakSet<Socket>();
  server = https.createServer({ cert: serving.chain, key: serving.key }, (req, res) => {
    req.resume();
    if (served.has(req.socket)) {
      // A second request on a kept-alive connection: drop it as a server closing an idle one does.
      req.socket.destroy();
      return;
    }
    served.add(req.socket);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"APIResourceList"}');
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await certs.cleanup();
});

describe('the upstream client and kept-alive connections', () => {
  it('sends a GET again on a new connection when a reused one is closed under it', async () => {
    const [config] =
      parseConfig(
        `upstreams:\n  - { name: stale, url: "${url}", groupVersions: [external.metrics.k8s.io/v1beta1], caFile: ${caPath}, tokenFile: ${tokenPath} }\n`,
        't',
      ).upstreams ?? [];
    assert.ok(config);
    const client = new UpstreamClient(config);
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await client.get('/apis/external.metrics.k8s.io/v1beta1', new AbortController().signal);
        assert.equal(answer.status, 200);
      }
      assert.ok(connections >= 3, 'each retry went out on a new connection');
    } finally {
      client.close();
    }
  });
});
