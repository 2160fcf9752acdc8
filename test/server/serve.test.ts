import assert from 'node:assert/strict';
import { Agent, request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import express from 'express';
import { silentLogger } from '../../src/observability/logger.js';
import { serveHttps } from '../../src/server/serve.js';
import { loadServingCertificate } from '../../src/server/tls.js';

/** Resolves at the next request the server takes, a sign its connection left the accept queue. */
let nextArrival: () => void = () => {};
const arrival = () =>
  new Promise<void>((resolve) => {
    nextArrival = resolve;
  });

function slowApp(delayMs: number) {
  const app = express();
  app.get('/slow', async (_req, res) => {
    nextArrival();
    // Unreferenced: a request cut by the drain leaves its wait behind, which kept this file's process 5 s.
    await new Promise((r) => setTimeout(r, delayMs).unref());
    res.send('done');
  });
  return app;
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  agent: Agent | false = false,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function start(delayMs: number, maxConnections?: number) {
  return serveHttps({
    app: slowApp(delayMs),
    certificate: await loadServingCertificate({}),
    clientCaPem: [],
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    ...(maxConnections !== undefined ? { maxConnections } : {}),
  });
}

/** TCP connections that send nothing; each resolves `closed` when the server closes it. */
async function silentConnections(port: number, count: number): Promise<{ socket: Socket; closed: Promise<void> }[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const socket = netConnect({ host: '127.0.0.1', port });
      socket.on('error', () => {});
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await new Promise((resolve) => socket.once('connect', resolve));
      // The server must have taken it before the next one arrives, for "oldest" to mean something.
      await new Promise((r) => setTimeout(r, 20));
      return { socket, closed };
    }),
  );
}

const settled = (promise: Promise<unknown>) =>
  Promise.race([promise.then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]);

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
    // Not a fixed wait: a connection still in the kernel's accept queue when the drain stops
    // listening is reset, which on a busy machine happened to this one after 50 ms.
    const arrived = arrival();
    const inflight = get(port, '/slow');
    await arrived;
    const cut = await running.drain(5000);
    assert.equal(cut, 0);
    assert.deepEqual(await inflight, { status: 200, body: 'done' });
    await assert.rejects(get(port, '/slow'), /ECONNREFUSED/);
  });

  it('cuts what is still running when the grace period ends, and says how many', async () => {
    const running = await start(5000);
    const arrived = arrival();
    const inflight = get(running.address.port, '/slow');
    await arrived;
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

  it('gives a new client the slot of the oldest connection that has not sent a request when the cap is full', async () => {
    const running = await start(0, 3);
    const silent = await silentConnections(running.address.port, 3);
    try {
      assert.deepEqual(await get(running.address.port, '/slow'), { status: 200, body: 'done' });
      await silent[0]?.closed;
      assert.deepEqual(
        await Promise.all(silent.slice(1).map((s) => settled(s.closed))),
        [false, false],
        'only the oldest silent connection was closed',
      );
    } finally {
      for (const { socket } of silent) socket.destroy();
      await running.drain(100);
    }
  });

  it('closes a newcomer when every slot is held by a connection that has sent a request', async () => {
    const running = await start(0, 2);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    const otherAgent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    try {
      await get(running.address.port, '/slow', {}, agent);
      await get(running.address.port, '/slow', {}, otherAgent);
      const [newcomer] = await silentConnections(running.address.port, 1);
      assert.ok(newcomer);
      await newcomer.closed;
      assert.deepEqual(await get(running.address.port, '/slow', {}, agent), { status: 200, body: 'done' });
    } finally {
      agent.destroy();
      otherAgent.destroy();
      await running.drain(100);
    }
  });
});
