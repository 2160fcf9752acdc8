import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import request from 'supertest';
import { ApiError } from '../../src/api/errors.js';
import { createLogSampler } from '../../src/observability/log-sampler.js';
import { createLogger } from '../../src/observability/logger.js';
import type { MetricsBackend } from '../../src/providers/provider.js';
import { buildTestApp } from '../support/app.js';

describe('client error log sampling', () => {
  it('lets perWindow lines through per window and reports how many it dropped with the next one', () => {
    let now = 0;
    const sampler = createLogSampler(3, 60_000, () => now);
    const first = Array.from({ length: 10 }, () => sampler.admit());
    assert.deepEqual(
      first.map((a) => a.log),
      [true, true, true, false, false, false, false, false, false, false],
    );
    now = 60_000;
    assert.deepEqual(sampler.admit(), { log: true, suppressed: 7 });
    assert.deepEqual(sampler.admit(), { log: true, suppressed: 0 });
  });
});

describe('client errors in the adapter log', () => {
  it('a flood of bad requests logs at most 60 lines a minute', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const { app } = buildTestApp({ logger: createLogger('info', sink) });
    for (let i = 0; i < 200; i++) {
      const answer = await request(app).get(
        `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/m${i}?labelSelector=a%20in%20(`,
      );
      assert.equal(answer.status, 400);
    }
    const warned = lines.filter((l) => l.level === 'warn' && l.code === 400);
    assert.equal(warned.length, 60);
  });
});

describe('backend failures in the adapter log', () => {
  it('a flood of requests answered 503 logs at most 60 lines a minute, not one per request', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const down: MetricsBackend = {
      name: 'prometheus',
      external: {
        getExternalMetric: () => Promise.reject(ApiError.unavailable('prometheus backend unavailable')),
        listExternalMetrics: () => [{ metric: 'queue_depth' }],
        servesExternal: (metric) => metric === 'queue_depth',
      },
    };
    const { app } = buildTestApp({ logger: createLogger('info', sink), backends: [down] });
    for (let i = 0; i < 200; i++) {
      const answer = await request(app).get(
        `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3Dq${i}`,
      );
      assert.equal(answer.status, 503);
    }
    const logged = lines.filter((l) => l.code === 503);
    assert.equal(logged.length, 60);
  });
});
