import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { sendRenderedJson } from '../../../src/server/respond/send-json.js';

/** One answer of `handle` as it comes off the wire: status, raw header lines in order, body. */
async function answerOf(
  handle: (res: ServerResponse) => void,
  method = 'GET',
): Promise<{ status: number; headers: string[]; body: string }> {
  const server = createServer((_req: IncomingMessage, res) => handle(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      request({ port, host: '127.0.0.1', method, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          const headers: string[] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            headers.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
          resolve({ status: res.statusCode ?? 0, headers, body });
        });
      })
        .on('error', reject)
        .end();
    });
  } finally {
    server.close();
  }
}

const JSON_BODY = {
  json: '{"kind":"Status","message":"é"}',
  bytes: Buffer.byteLength('{"kind":"Status","message":"é"}'),
};

describe('sendRenderedJson', () => {
  it('sends the status, application/json and the length in bytes, after headers set earlier', async () => {
    const answer = await answerOf((res) => {
      res.setHeader('Retry-After', '5');
      sendRenderedJson(res, JSON_BODY, 429);
    });
    assert.equal(answer.status, 429);
    assert.equal(answer.body, JSON_BODY.json);
    assert.deepEqual(
      answer.headers.filter((line) => !/^(Date|Connection|Keep-Alive):/.test(line)),
      ['Retry-After: 5', 'Content-Type: application/json', `Content-Length: ${JSON_BODY.bytes}`],
    );
  });

  it('replaces a content type set earlier rather than sending two', async () => {
    const answer = await answerOf((res) => {
      res.setHeader('Content-Type', 'text/plain');
      sendRenderedJson(res, JSON_BODY, 200, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    });
    assert.deepEqual(
      answer.headers.filter((line) => line.startsWith('Content-Type')),
      ['Content-Type: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'],
    );
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const answer = await answerOf((res) => sendRenderedJson(res, JSON_BODY), 'HEAD');
    assert.equal(answer.body, '');
    assert.ok(answer.headers.includes(`Content-Length: ${JSON_BODY.bytes}`));
  });

  it('writes a large body as the client reads it, a slice at a time, whole and with characters intact', async () => {
    // Surrogate pairs at odd offsets: a pair straddles every even slice boundary.
    const json = JSON.stringify({ message: `a${'😀'.repeat(4 * 1024 * 1024)}` });
    const body = { json, bytes: Buffer.byteLength(json) };
    let bufferedAfterSend = -1;
    const server = createServer((_req, res) => {
      sendRenderedJson(res, body);
      bufferedAfterSend = res.writableLength;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const received = await new Promise<Buffer>((resolve, reject) => {
        request({ port, host: '127.0.0.1', agent: false }, (res) => {
          res.pause();
          // The client reads nothing until the server has returned from sending.
          setTimeout(() => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve(Buffer.concat(chunks)));
            res.resume();
          }, 200);
        })
          .on('error', reject)
          .end();
      });
      // Written whole, the 16 MiB past what the kernel's socket buffers take stayed queued in the process.
      assert.ok(bufferedAfterSend >= 0 && bufferedAfterSend < 2 * 1024 * 1024, `${bufferedAfterSend} bytes queued`);
      assert.ok(received.equals(Buffer.from(json)), 'the body arrives byte for byte');
    } finally {
      server.close();
    }
  });
});
