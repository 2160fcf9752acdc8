import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { processResponseBudget } from '../../src/io/response-budget.js';
import { startUpstreamHarness, type UpstreamHarness } from './harness.js';

/**
 * A forwarded answer is held until its client has read it: its bytes count in the process-wide
 * response budget until then, not only while the upstream's answer arrives. 64 upstream answers of
 * 7.5 MiB, each given back as soon as it was read, were all held at once while being written.
 */

const PATH = '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/s0-wide';
/** Past what the kernel buffers for a client that reads nothing (its 4 MiB send buffer and a small receive window). */
const VALUE_BYTES = 7 * 1024 * 1024;

let h: UpstreamHarness;
let server: Server;
let port: number;

/**
 * The adapter's request timeout, which cuts the second test's unread answer. The first test's
 * 7 MiB answer must arrive within it: 2 s were too few on a busy 2-core machine (a 503).
 */
const REQUEST_TIMEOUT_MS = 6000;

before(async () => {
  h = await startUpstreamHarness(`    metrics: { matching: ['s0-.*'] }\n`, REQUEST_TIMEOUT_MS);
  h.keda.values.set('s0-wide', '1'.repeat(VALUE_BYTES));
  server = createServer(h.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await h.close();
});

/** The answer's headers, its body not read yet. */
const headersOf = () =>
  new Promise<IncomingMessage>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: PATH, agent: false }, (res) => {
      res.pause();
      resolve(res);
    }).on('error', reject);
  });

/** Resolves once the budget holds nothing, checked every turn. */
async function budgetEmptied(): Promise<void> {
  while (processResponseBudget().bytesInFlight > 0) await new Promise((resolve) => setImmediate(resolve));
}

describe("an upstream's answer in the response budget", () => {
  it('stays counted while its client has not read it, and is given back once it has', async () => {
    const res = await headersOf();
    assert.equal(res.statusCode, 200);
    assert.ok(
      processResponseBudget().bytesInFlight >= VALUE_BYTES,
      `${processResponseBudget().bytesInFlight} bytes counted while ${VALUE_BYTES} wait to be written`,
    );
    let read = 0;
    res.on('data', (chunk: Buffer) => {
      read += chunk.length;
    });
    await new Promise((resolve) => res.on('end', resolve).resume());
    assert.ok(read > VALUE_BYTES);
    await budgetEmptied();
  });

  it('is given back when a client stops reading past the request timeout: its response is cut', async () => {
    const res = await headersOf();
    assert.ok(processResponseBudget().bytesInFlight >= VALUE_BYTES);
    await budgetEmptied();
    res.on('error', () => {});
    await new Promise((resolve) => res.on('close', resolve).resume());
    assert.equal(res.complete, false, 'the response was cut before its end');
  });
});
