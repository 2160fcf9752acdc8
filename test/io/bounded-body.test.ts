import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import { BodyTooLargeError, limitStream, readBoundedJson, readBoundedText } from '../../src/io/bounded-body.js';
import { ResponseBudget } from '../../src/io/response-budget.js';
import { KubeTransport } from '../../src/kube/transport.js';
import { loopbackKubeConfig } from '../support/kube-config.js';

let server: http.Server;
let port: number;
let bytesSent = 0;
let size = 0;
/** What the body starts with; a JSON string's opening by default, HTML for answers that are not JSON. */
let opening = '{"items":"';

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(opening);
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

describe('readBoundedJson', () => {
  it('parses a body within the limit', async () => {
    size = 100 * 1024;
    bytesSent = 0;
    const body = await readBoundedJson(await get(), 1024 * 1024);
    assert.equal((body.value as { items: string }).items.length, bytesSent);
    assert.equal(body.head.slice(0, 12), '{"items":"xx');
  });

  it('parses a body past the size it parses whole as it arrives, the chunks held so far first', async () => {
    size = 4 * 1024 * 1024;
    bytesSent = 0;
    const body = await readBoundedJson(await get(), 32 * 1024 * 1024);
    assert.equal((body.value as { items: string }).items.length, bytesSent);
    assert.equal(body.head, `{"items":"${'x'.repeat(1014)}`);
  });

  it('decodes characters split between chunks', async () => {
    const text = JSON.stringify({ city: 'Zürich – 東京 😀' });
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const stream = Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)], { objectMode: false });
      assert.deepEqual((await readBoundedJson(stream, 1024)).value, JSON.parse(text), `cut at byte ${cut}`);
    }
  });

  it('stops reading and hangs up once the limit is passed', async () => {
    size = 256 * 1024 * 1024;
    bytesSent = 0;
    await assert.rejects(readBoundedJson(await get(), 1024 * 1024), BodyTooLargeError);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(bytesSent < 64 * 1024 * 1024, `the server could send only ${bytesSent} bytes before the hang-up`);
  });

  it('refuses a chunked body under the size it parses whole once it passes its limit', async () => {
    size = 256 * 1024;
    bytesSent = 0;
    await assert.rejects(readBoundedJson(await get(), 64 * 1024), /answer larger than the limit of 64 KiB/);
  });

  it('counts the chunks held before a chunked body is parsed as it arrives against its limit', async () => {
    size = 4 * 1024 * 1024;
    bytesSent = 0;
    await assert.rejects(readBoundedJson(await get(), 2 * 1024 * 1024), /answer larger than the limit of 2 MiB/);
  });

  it('answers a body that is not JSON with no value and its start as text, for messages', async () => {
    size = 4 * 1024 * 1024;
    bytesSent = 0;
    opening = '<html>';
    try {
      const body = await readBoundedJson(await get(), 32 * 1024 * 1024);
      assert.equal(body.value, undefined);
      assert.equal(body.head, `<html>${'x'.repeat(1018)}`);
    } finally {
      opening = '{"items":"';
    }
  });

  it('holds its bytes in the response budget until the turn after the value is parsed', async () => {
    size = 100 * 1024;
    bytesSent = 0;
    const budget = new ResponseBudget({ maxBytes: 1024 * 1024, waitMs: 1000 });
    await readBoundedJson(await get(), 1024 * 1024, budget);
    assert.ok(budget.bytesInFlight > size, `${budget.bytesInFlight} bytes held while the value is decoded`);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(budget.bytesInFlight, 0);
  });
});

describe('limitStream', () => {
  it("gives a failed read's bytes back at once, for the reads whose wait runs out beside it", async () => {
    const budget = new ResponseBudget({ maxBytes: 1000, waitMs: 1000 });
    const stream = limitStream(10_000, budget);
    stream.resume();
    await new Promise<void>((resolve, reject) =>
      stream.write(Buffer.alloc(800), (error) => (error ? reject(error) : resolve())),
    );
    assert.equal(budget.bytesInFlight, 800);
    stream.destroy(new Error('refused'));
    stream.on('error', () => {});
    assert.equal(budget.bytesInFlight, 0);
  });

  it('gives back bytes it got after it was destroyed', async () => {
    const budget = new ResponseBudget({ maxBytes: 1000, waitMs: 1000 });
    assert.ok(budget.tryTake(900));
    const stream = limitStream(10_000, budget);
    stream.on('error', () => {});
    stream.write(Buffer.alloc(500));
    await new Promise((resolve) => setImmediate(resolve));
    stream.destroy(new Error('the client left'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    budget.give(900);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(budget.bytesInFlight, 0);
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
