import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { ApiError } from '../../../src/api/errors.js';
import type { MetricsBackend } from '../../../src/providers/provider.js';
import { RequestDeadline } from '../../../src/server/request/request-deadline.js';
import { buildTestApp } from '../../support/app.js';

/** Just what RequestDeadline uses of a request: 'close' and `destroyed`. */
function fakeRequest(destroyed = false): IncomingMessage & EventEmitter {
  return Object.assign(new EventEmitter(), { destroyed }) as unknown as IncomingMessage & EventEmitter;
}

describe('RequestDeadline', () => {
  it('makes no signal, timer or close listener until the signal is read', () => {
    const req = fakeRequest();
    const deadline = new RequestDeadline(req, 10);
    assert.equal(req.listenerCount('close'), 0);
    deadline.dispose();
    assert.equal(req.listenerCount('close'), 0);
  });

  it('once read, aborts when the deadline counted from the request start passes', async () => {
    const req = fakeRequest();
    const deadline = new RequestDeadline(req, 40);
    await sleep(30);
    const signal = deadline.signal;
    assert.equal(signal.aborted, false);
    assert.equal(req.listenerCount('close'), 1);
    await sleep(25);
    assert.equal(signal.aborted, true, 'aborted 40 ms after the start, not 40 ms after the read');
    assert.match(String(signal.reason), /deadline of 40 ms exceeded/);
    assert.equal(deadline.signal, signal, 'one signal per request');
    deadline.dispose();
    assert.equal(req.listenerCount('close'), 0);
  });

  it('aborts when the client closes, and at once if it had already gone when the signal is read', () => {
    const open = fakeRequest();
    const closed = new RequestDeadline(open, 10_000);
    const signal = closed.signal;
    open.emit('close');
    assert.equal(signal.aborted, true);
    assert.match(String(signal.reason), /client closed the connection/);
    // As the app does once it answers: the 10 s timer otherwise kept this file's process alive.
    closed.dispose();

    const gone = new RequestDeadline(fakeRequest(true), 10_000);
    assert.equal(gone.signal.aborted, true);
    gone.dispose();
  });

  it('turns a failure after the abort into a Timeout, and leaves ApiErrors and earlier failures alone', async () => {
    const deadline = new RequestDeadline(fakeRequest(), 1);
    const early = new Error('boom');
    assert.equal(deadline.failure(early), early, 'no signal read yet: not a timeout');
    const signal = deadline.signal;
    await sleep(10);
    assert.equal(signal.aborted, true);
    const timeout = deadline.failure(new Error('aborted'));
    assert.ok(timeout instanceof ApiError);
    assert.equal(timeout.reason, 'Timeout');
    const notFound = ApiError.notFound('no data');
    assert.equal(deadline.failure(notFound), notFound);
    deadline.dispose();
  });
});

describe('the metrics API deadline', () => {
  const waitsForAbort: MetricsBackend = {
    name: 'slow',
    external: {
      listExternalMetrics: () => [{ metric: 'slow' }],
      servesExternal: (metric) => metric === 'slow',
      getExternalMetric: ({ deadline }) =>
        new Promise((_resolve, reject) => {
          const { signal } = deadline;
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    },
  };

  it('answers 504 Timeout when a backend that reads the signal outlives the request deadline', async () => {
    const { app } = buildTestApp({ backends: [waitsForAbort] });
    const started = Date.now();
    const res = await request(app).get('/apis/external.metrics.k8s.io/v1beta1/namespaces/default/slow');
    assert.equal(res.status, 504, res.text);
    assert.equal(res.body.reason, 'Timeout');
    assert.match(res.body.message, /did not complete within 500 ms/);
    assert.ok(Date.now() - started < 2_000);
  });
});
