import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeTransport } from '../../src/kube/transport.js';
import { loopbackKubeConfig } from '../support/kube-config.js';

/**
 * The API server closes a kept-alive connection as idle just as the adapter sends on it: the
 * request must go out again on a new connection, not end as a 503 (faults-flood saw the odd one).
 */

let server: http.Server;
let port: number;
let sockets = 0;

before(async () => {
  const served = new WeakSet<Socket>();
  server = http.createServer((req, res) => {
    req.resume();
    if (served.has(req.socket)) {
      // A second request on a kept-alive connection: drop it as a server closing an idle one does.
      req.socket.destroy();
      return;
    }
    served.add(req.socket);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status","status":"Success"}');
  });
  server.on('connection', () => sockets++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the kube API transport and kept-alive connections', () => {
  it('sends a request again on a new connection when a reused one is closed under it', async () => {
    const kubeConfig = loopbackKubeConfig(port);
    const transport = new KubeTransport(kubeConfig);
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await transport.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {});
        assert.equal(answer.status, 200);
      }
      assert.ok(sockets >= 3, 'each retry went out on a new connection');
    } finally {
      transport.close();
    }
  });
});
