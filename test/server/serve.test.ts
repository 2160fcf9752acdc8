import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import express from 'express';
import { silentLogger } from '../../src/observability/logger.js';
import { serveHttps } from '../../src/server/serve.js';
import { loadServingCertificate } from '../../src/server/tls.js';

function slowApp(delayMs: number) {
  const app = express();
  app.get('/slow', async (_req, res) => {
    await new Promise((r) => setTimeout(r, delayMs));
    res.send('done');
  });
  return app;
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function start(delayMs: number) {
  return serveHttps({
    app: slowApp(delayMs),
    certificate: await loadServingCertificate({}),
    clientCaPem: [],
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
  });
}

describe('HTTPS serving and drain', () => {
  it('serves over TLS 1.2+ with the self-signed certificate when none is given', async () => {
    assert.match((await loadServingCertificate({})).source, /self-signed/);
    const running = await start(0);
    try {
      assert.deepEqual(await get(running.address.port, '/slow'), { status: 200, body: 'done' });
    } finally {
      await running.drain(100);
    }
  });

  it('lets an in-flight request finish within the grace period, then stops accepting', async () => {
    const running = await start(300);
    const port = running.address.port;
    const inflight = get(port, '/slow');
    await new Promise((r) => setTimeout(r, 50));
    const cut = await running.drain(5000);
    assert.equal(cut, 0);
    assert.deepEqual(await inflight, { status: 200, body: 'done' });
    await assert.rejects(get(port, '/slow'), /ECONNREFUSED/);
  });

  it('cuts what is still running when the grace period ends, and says how many', async () => {
    const running = await start(5000);
    const inflight = get(running.address.port, '/slow');
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const cut = await running.drain(200);
    assert.equal(cut, 1);
    assert.ok(Date.now() - started < 2000, 'drain returned near the grace period');
    await assert.rejects(inflight);
  });

  it('answers oversized headers and unparseable requests with a Status, not a dropped socket', async () => {
    const running = await start(0);
    try {
      const huge = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: running.address.port,
            path: '/slow',
            rejectUnauthorized: false,
            agent: false,
            headers: { 'X-Big': 'x'.repeat(40 * 1024) },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (c: string) => {
              body += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(huge.status, 431);
      const status = JSON.parse(huge.body);
      assert.equal(status.kind, 'Status');
      assert.equal(status.code, 431);
      assert.match(status.message, /request headers are larger than 32 KiB/);

      const garbage = await new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: running.address.port, rejectUnauthorized: false }, () => {
          socket.write('THIS IS NOT HTTP\r\n\r\n');
        });
        let text = '';
        socket.setEncoding('utf8').on('data', (c: string) => {
          text += c;
        });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      assert.match(garbage, /^HTTP\/1\.1 400 Bad Request/);
      assert.match(garbage, /"kind":"Status".*"code":400/);
    } finally {
      await running.drain(100);
    }
  });
});
