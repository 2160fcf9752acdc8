import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../../src/api/errors.js';
import { createPrometheusClient } from '../../../src/providers/prometheus/client.js';
import { prometheusSectionSchema } from '../../../src/providers/prometheus/config.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';

/** What the server answers next: a body, with or without a Content-Length. */
let reply: { body: string; chunked: boolean } = { body: '', chunked: false };
let server: http.Server;
let url: string;

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    if (reply.chunked) {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < reply.body.length; i += 1000) res.write(reply.body.slice(i, i + 1000));
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply.body) });
      res.end(reply.body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const vector = (value: string, extra = '') =>
  JSON.stringify({
    status: 'success',
    data: { resultType: 'vector', result: [{ metric: { pod: `a${extra}` }, value: [1700000000, value] }] },
  });

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ApiError, String(error));
  return error;
}

describe('Prometheus client answer size', () => {
  const client = () => createPrometheusClient({ url, timeoutMs: 5000, maxResponseBytes: 4096 });

  for (const chunked of [false, true]) {
    it(`refuses an answer past maxResponseBytes (${chunked ? 'chunked' : 'with Content-Length'}) as 503 naming the limit`, async () => {
      reply = { body: vector('1', 'x'.repeat(10_000)), chunked };
      const error = await failure(client().query('up', new Date()));
      assert.equal(error.reason, 'ServiceUnavailable');
      assert.match(error.message, /sent a query answer larger than the limit of 4 KiB \(maxResponseBytes\)/);
    });
  }

  it('reads answers up to the limit, series discovery included', async () => {
    reply = { body: vector('2.5', 'x'.repeat(3000)), chunked: true };
    const result = await client().query('up', new Date());
    assert.equal(result.samples[0]?.value, 2.5);
    reply = { body: JSON.stringify({ status: 'success', data: [{ __name__: 'x'.repeat(5000) }] }), chunked: true };
    assert.match((await failure(client().series('up', new Date(0), new Date()))).message, /series answer larger/);
  });

  it('takes maxResponseBytes from the config section, 32 MiB when absent', () => {
    const section = prometheusSectionSchema.parse({ url, maxResponseBytes: '64Mi' });
    assert.equal(resolvePrometheusSettings(section, {})?.servers[0]?.client.maxResponseBytes, 64 * 1024 * 1024);
    assert.throws(() => prometheusSectionSchema.parse({ url, maxResponseBytes: 'lots' }));
  });
});

describe('Prometheus client sample validation', () => {
  const client = () => createPrometheusClient({ url, timeoutMs: 5000 });
  const cases: [string, string, RegExp][] = [
    ['a timestamp past year 9999', '[1e300,"5"]', /data\.result\[0\]\.value\[0\] timestamp 1e\+300 is not a time/],
    ['a negative timestamp', '[-5,"5"]', /value\[0\] timestamp -5 is not a time/],
    ['a string timestamp', '["now","5"]', /value\[0\] timestamp "now" is not a time/],
    ['an unparsable value', '[1700000000,"five"]', /value\[1\] value "five" is not a number/],
    ['a numeric value', '[1700000000,5]', /value\[1\] value 5 is not a number/],
    ['a missing value', '[1700000000]', /data\.result\[0\]\.value is not a \[timestamp, "value"\] pair/],
  ];
  for (const [what, point, message] of cases) {
    it(`fails the call as 503 on ${what}, naming the field`, async () => {
      reply = {
        body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":${point}}]}}`,
        chunked: false,
      };
      const error = await failure(client().query('up', new Date()));
      assert.equal(error.reason, 'ServiceUnavailable');
      assert.match(error.message, /answered a malformed sample: /);
      assert.match(error.message, message);
    });
  }

  it('fails on labels that are not strings, and on a malformed scalar', async () => {
    reply = {
      body: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":1},"value":[1,"1"]}]}}',
      chunked: false,
    };
    assert.match((await failure(client().query('up', new Date()))).message, /data\.result\[0\]\.metric is not a map/);
    reply = { body: '{"status":"success","data":{"resultType":"scalar","result":[1,"x"]}}', chunked: false };
    assert.match((await failure(client().query('up', new Date()))).message, /data\.result\[1\] value "x"/);
  });

  it('accepts what Prometheus writes: exponents, NaN and ±Inf', async () => {
    for (const [text, expected] of [
      ['1.5e3', 1500],
      ['NaN', Number.NaN],
      ['+Inf', Number.POSITIVE_INFINITY],
      ['-Inf', Number.NEGATIVE_INFINITY],
    ] as const) {
      reply = { body: vector(text), chunked: false };
      assert.deepEqual((await client().query('up', new Date())).samples[0]?.value, expected);
    }
  });
});
