import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import { BodyTooLargeError, readBoundedText } from '../../src/io/bounded-body.js';
import { KubeTransport } from '../../src/kube/transport.js';
import { loopbackKubeConfig } from '../support/kube-config.js';

let server: http.Server;
let port: number;
let bytesSent = 0;
let size = 0;

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"items":"');
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (bytesSent < size && !res.destroyed) {
        bytesSent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end('"}');
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const get = () =>
  new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get({ host: '127.0.0.1', port, agent: false }, resolve).on('error', reject),
  );

describe('readBoundedText', () => {
  it('reads a body within the limit whole', async () => {
    size = 100 * 1024;
    bytesSent = 0;
    const body = await readBoundedText(await get(), 1024 * 1024);
    assert.equal(body.length, '{"items":"'.length + bytesSent + 2);
  });

  it('stops reading and hangs up once the limit is passed', async () => {
    size = 256 * 1024 * 1024;
    bytesSent = 0;
    await assert.rejects(readBoundedText(await get(), 1024 * 1024), (error) => {
      assert.ok(error instanceof BodyTooLargeError);
      assert.equal(error.message, 'answer larger than the limit of 1 MiB');
      return true;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(bytesSent < 64 * 1024 * 1024, `the server could send only ${bytesSent} bytes before the hang-up`);
  });
});

describe('the kube API transport', () => {
  it('refuses an answer past maxResponseBytes as 503 naming the limit', async () => {
    size = 8 * 1024 * 1024;
    bytesSent = 0;
    const kubeConfig = loopbackKubeConfig(port);
    const transport = new KubeTransport(kubeConfig, { maxResponseBytes: 1024 * 1024 });
    try {
      await assert.rejects(transport.request('GET', '/api/v1/pods'), (error) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.reason, 'ServiceUnavailable');
        assert.match(
          error.message,
          /GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/pods: answer larger than the limit of 1 MiB/,
        );
        return true;
      });
    } finally {
      transport.close();
    }
  });
});
