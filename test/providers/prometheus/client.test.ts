import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { createPrometheusClient, type PrometheusClientOptions } from '../../../src/providers/prometheus/client.js';
import { type CertDir, createCertDir, issueServingCert, type TestCa } from '../../support/certs.js';
import { rejection } from '../../support/failures.js';

/** What the Prometheus double saw of one request. */
interface Seen {
  method: string;
  path: string;
  params: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  clientCn?: string;
}

type Answer = (seen: Seen) => { status: number; body: string; delayMs?: number };

const VECTOR = JSON.stringify({
  status: 'success',
  data: {
    resultType: 'vector',
    result: [
      { metric: { pod: 'a' }, value: [1700000000.5, '2.5'] },
      { metric: { pod: 'b' }, value: [1700000000.5, 'NaN'] },
    ],
  },
});

function double(server: http.Server | https.Server) {
  const seen: Seen[] = [];
  let connections = 0;
  let answer: Answer = () => ({ status: 200, body: VECTOR });
  server.on('connection', () => connections++);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://double');
      const body = Buffer.concat(chunks).toString();
      const params = req.method === 'POST' ? new URLSearchParams(body) : url.searchParams;
      const peer = (req.socket as TLSSocket).getPeerCertificate?.();
      const entry: Seen = { method: req.method ?? '', path: url.pathname, params, headers: req.headers };
      if (peer?.subject?.CN) entry.clientCn = String(peer.subject.CN);
      seen.push(entry);
      const reply = answer(entry);
      setTimeout(
        () => res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body),
        reply.delayMs ?? 0,
      );
    });
  });
  return {
    seen,
    connections: () => connections,
    answer(next: Answer) {
      answer = next;
    },
  };
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const T = new Date(1_700_000_000_500);

describe('Prometheus client over HTTP', () => {
  const server = http.createServer();
  const prom = double(server);
  let base: string;
  let dir: CertDir;
  const client = (options: Partial<PrometheusClientOptions> = {}) =>
    createPrometheusClient({ url: `${base}/prom/`, timeoutMs: 2000, ...options });

  before(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
    dir = await createCertDir('prom-client-');
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await dir.cleanup();
  });

  it('GETs /api/v1/query under the path prefix with the time in seconds, and parses the vector', async () => {
    prom.answer(() => ({ status: 200, body: VECTOR }));
    const result = await client().query('sum(up)', T);
    const last = prom.seen.at(-1);
    assert.equal(last?.method, 'GET');
    assert.equal(last?.path, '/prom/api/v1/query');
    assert.equal(last?.params.get('query'), 'sum(up)');
    assert.equal(last?.params.get('time'), '1700000000.500');
    assert.equal(result.resultType, 'vector');
    assert.deepEqual(result.samples[0], { labels: { pod: 'a' }, value: 2.5, timestamp: new Date(1_700_000_000_500) });
    assert.ok(Number.isNaN(result.samples[1]?.value), 'the client hands NaN on; the backend drops it');
  });

  it('switches to a form POST once the query string passes 4 KiB, and POSTs always with verb POST', async () => {
    const names = Array.from({ length: 400 }, (_, i) => `web-${String(i).padStart(4, '0')}`).join('|');
    await client().query(`sum(x{pod=~"${names}"})`, T);
    assert.equal(prom.seen.at(-1)?.method, 'POST');
    assert.equal(prom.seen.at(-1)?.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(prom.seen.at(-1)?.params.get('query'), `sum(x{pod=~"${names}"})`);
    await client({ verb: 'POST' }).query('up', T);
    assert.equal(prom.seen.at(-1)?.method, 'POST');
  });

  it('sends the bearer token from the file, re-reading it after rotation, and extra headers', async () => {
    const tokenFile = await dir.writeText('token', 'first-token\n');
    const c = client({ tokenFile, headers: { 'X-Scope-OrgID': 'tenant-a' } });
    await c.query('up', T);
    assert.equal(prom.seen.at(-1)?.headers.authorization, 'Bearer first-token');
    assert.equal(prom.seen.at(-1)?.headers['x-scope-orgid'], 'tenant-a');
    await writeFile(tokenFile, 'second-token-rotated\n');
    await c.query('up', T);
    assert.equal(prom.seen.at(-1)?.headers.authorization, 'Bearer second-token-rotated');
  });

  it('sends URL credentials as basic auth and keeps the password out of messages', async () => {
    prom.answer(() => ({ status: 200, body: VECTOR }));
    const c = createPrometheusClient({ url: base.replace('http://', 'http://reader:s%3Acret@'), timeoutMs: 2000 });
    await c.query('up', T);
    assert.equal(prom.seen.at(-1)?.headers.authorization, `Basic ${Buffer.from('reader:s:cret').toString('base64')}`);
    assert.equal(c.url, base.replace('http://', 'http://reader:***@'));
  });

  it('reuses one keep-alive connection for consecutive calls', async () => {
    const c = client();
    const before = prom.connections();
    for (let i = 0; i < 5; i++) await c.query('up', T);
    assert.equal(prom.connections() - before, 1);
    c.close();
  });

  it('lists series with match[], start and end', async () => {
    prom.answer(() => ({
      status: 200,
      body: JSON.stringify({ status: 'success', data: [{ __name__: 'up', job: 'x' }] }),
    }));
    const series = await client().series('{job="x"}', new Date(1_700_000_000_000), T);
    assert.deepEqual(series, [{ __name__: 'up', job: 'x' }]);
    const last = prom.seen.at(-1);
    assert.equal(last?.path, '/prom/api/v1/series');
    assert.equal(last?.params.get('match[]'), '{job="x"}');
    assert.equal(last?.params.get('start'), '1700000000.000');
  });

  it('turns a rejected query into BadRequest carrying Prometheus`s error text', async () => {
    prom.answer(() => ({
      status: 400,
      body: JSON.stringify({
        status: 'error',
        errorType: 'bad_data',
        error: 'invalid parameter "query": 1:5: parse error: unexpected "}"',
      }),
    }));
    const error = await rejection(client().query('sum(}', T));
    assert.equal(error.reason, 'BadRequest');
    assert.match(error.message, /rejected the query sum\(\}: bad_data: invalid parameter "query": 1:5: parse error/);
  });

  it('turns a Prometheus timeout, a proxy error page and a 401 into ServiceUnavailable naming the URL', async () => {
    prom.answer(() => ({
      status: 503,
      body: JSON.stringify({
        status: 'error',
        errorType: 'timeout',
        error: 'query timed out in expression evaluation',
      }),
    }));
    let error = await rejection(client().query('up', T));
    assert.equal(error.reason, 'ServiceUnavailable');
    assert.match(
      error.message,
      new RegExp(
        `prometheus backend at ${base}/prom failed the query up \\(HTTP 503 Service Unavailable\\): timeout: query timed out`,
      ),
    );
    prom.answer(() => ({ status: 502, body: '<html>Bad Gateway</html>' }));
    error = await rejection(client().query('up', T));
    assert.match(error.message, /answered HTTP 502 Bad Gateway: <html>Bad Gateway<\/html>/);
    prom.answer(() => ({ status: 401, body: 'Unauthorized' }));
    error = await rejection(client().query('up', T));
    assert.match(error.message, /HTTP 401 Unauthorized \(check --prometheus-token-file/);
  });

  it('gives up at the deadline with ServiceUnavailable', async () => {
    prom.answer(() => ({ status: 200, body: VECTOR, delayMs: 500 }));
    const error = await rejection(client({ timeoutMs: 100 }).query('up', T));
    assert.equal(error.reason, 'ServiceUnavailable');
    assert.match(error.message, /did not answer within 100 ms/);
  });

  it('passes the caller`s abort through untouched, so the cache can tell it from a failure', async () => {
    prom.answer(() => ({ status: 200, body: VECTOR, delayMs: 500 }));
    const controller = new AbortController();
    const reason = new Error('caller went away');
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(client().query('up', T, controller.signal), (error) => error === reason);
  });

  it('says when Prometheus is unreachable', async () => {
    const closed = http.createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const error = await rejection(
      createPrometheusClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 1000 }).query('up', T),
    );
    assert.equal(error.reason, 'ServiceUnavailable');
    assert.match(
      error.message,
      new RegExp(`prometheus backend at http://127.0.0.1:${port} is unreachable: connect ECONNREFUSED`),
    );
  });
});

describe('Prometheus client over TLS', () => {
  let dir: CertDir;
  let ca: TestCa;
  let server: https.Server;
  let prom: ReturnType<typeof double>;
  let url: string;

  before(async () => {
    dir = await createCertDir('prom-tls-');
    ca = await dir.createCa('prometheus-ca');
    const serving = await issueServingCert(ca, 'prometheus');
    server = https.createServer({
      cert: serving.cert,
      key: serving.key,
      ca: ca.cert,
      requestCert: true,
      rejectUnauthorized: true,
    });
    prom = double(server);
    url = `https://127.0.0.1:${await listen(server)}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await dir.cleanup();
  });

  it('verifies the server with --prometheus-ca-file and presents the client certificate', async () => {
    const adapter = await ca.issue({ cn: 'hpa-metrics-adapter' });
    const c = createPrometheusClient({
      url,
      timeoutMs: 2000,
      caFile: ca.certPath,
      clientCert: adapter.certPath,
      clientKey: adapter.keyPath,
    });
    const result = await c.query('up', T);
    assert.equal(result.samples.length, 2);
    assert.equal(prom.seen.at(-1)?.clientCn, 'hpa-metrics-adapter');
    c.close();
  });

  it('fails as unavailable when the server certificate is not trusted', async () => {
    const error = await rejection(createPrometheusClient({ url, timeoutMs: 2000 }).query('up', T));
    assert.equal(error.reason, 'ServiceUnavailable');
    assert.match(error.message, /is unreachable: .*(self-signed|unable to verify|certificate)/i);
  });
});
