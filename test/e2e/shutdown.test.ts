import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { describe, it } from 'node:test';
import { eventually } from '../support/adapter-client.js';
import { startAdapter } from '../support/adapter-process.js';

function status(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpsRequest({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

describe('graceful shutdown of the adapter process', () => {
  it('turns readiness false at once on SIGTERM, keeps serving through the delay, then exits 0', async () => {
    // The three reads after SIGTERM open a TLS connection each, and must all be answered within
    // the delay: with 1 s, a loaded 2-core machine did not always manage that.
    const adapter = await startAdapter({
      args: ['--secure-port=0', '--shutdown-delay-seconds=5', '--shutdown-grace-seconds=5'],
    });
    const metric = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/demo-queue-depth';
    assert.equal(await status(adapter.port, '/readyz'), 200);
    adapter.child.kill('SIGTERM');
    // Once the process has handled the signal (a fixed 150 ms was not always enough under load).
    await eventually(
      'the shutdown log line',
      async () => (adapter.logs.some((l) => l.msg === 'shutting down: readiness is now false') ? true : undefined),
      5000,
      10,
    );
    assert.equal(await status(adapter.port, '/readyz'), 503, 'readiness drops at once');
    assert.equal(await status(adapter.port, '/livez'), 200, 'liveness stays up while draining');
    assert.equal(await status(adapter.port, metric), 200, 'requests routed before endpoints update are still served');
    assert.equal(await adapter.exited, 0);
    // In order, from the log: readiness dropped, the delay passed, nothing was left to cut, stopped.
    const messages = adapter.logs.map((l) => String(l.msg));
    const down = messages.indexOf('shutting down: readiness is now false');
    assert.ok(down !== -1 && messages.indexOf('stopped') > down, messages.join(' | '));
    assert.ok(!messages.some((m) => m.startsWith('grace period ended')), 'no request was cut');
  });

  it('refuses to start with a message naming the field when the config is invalid', async () => {
    await assert.rejects(
      startAdapter({ args: ['--secure-port=0', '--config=/nonexistent/config.yaml'] }),
      /cannot start: config file \/nonexistent\/config.yaml: cannot read/,
    );
  });

  it('refuses to listen beyond loopback without authentication', async () => {
    await assert.rejects(
      startAdapter({ args: ['--secure-port=0', '--bind-address=0.0.0.0'] }),
      /refusing to serve on 0\.0\.0\.0 without authentication/,
    );
  });
});
