import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../../src/api/errors.js';
import { deadlineOf } from '../../../src/lib/deadline.js';
import { type QueueRef, QueueUrlResolver } from '../../../src/providers/sqs/queue-urls.js';

/** A GetQueueUrl stand-in the test answers by hand. */
function heldLookups() {
  const asked: QueueRef[] = [];
  const pending: { resolve: (url: string) => void; reject: (error: unknown) => void }[] = [];
  const lookup = (ref: QueueRef) => {
    asked.push(ref);
    return new Promise<string>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return { asked, pending, lookup };
}

const patient = () => deadlineOf(new AbortController().signal);
const jobs: QueueRef = { name: 'jobs', region: 'eu-west-1' };

describe('QueueUrlResolver', () => {
  it('looks a queue up once for concurrent requests, and remembers the URL', async () => {
    const { asked, pending, lookup } = heldLookups();
    const urls = new QueueUrlResolver(lookup);
    const callers = Array.from({ length: 20 }, () => urls.resolve(jobs, patient()));
    pending[0]?.resolve('https://sqs.eu-west-1.amazonaws.com/1/jobs');
    assert.deepEqual(new Set(await Promise.all(callers)), new Set(['https://sqs.eu-west-1.amazonaws.com/1/jobs']));
    assert.equal(await urls.resolve(jobs, patient()), 'https://sqs.eu-west-1.amazonaws.com/1/jobs');
    assert.equal(asked.length, 1);
  });

  it('gives every waiting request the lookup failure, and looks up again on the next request', async () => {
    const { asked, pending, lookup } = heldLookups();
    const urls = new QueueUrlResolver(lookup);
    const gone = ApiError.notFound('SQS queue "jobs" does not exist');
    const callers = [urls.resolve(jobs, patient()), urls.resolve(jobs, patient())];
    pending[0]?.reject(gone);
    for (const outcome of await Promise.allSettled(callers))
      assert.deepEqual(outcome, { status: 'rejected', reason: gone });
    void urls.resolve(jobs, patient());
    assert.equal(asked.length, 2);
  });

  it('a request that ends while it waits gets a 503 naming the queue; the lookup finishes and is remembered', async () => {
    const { asked, pending, lookup } = heldLookups();
    const urls = new QueueUrlResolver(lookup);
    const request = new AbortController();
    const leaving = urls.resolve(jobs, deadlineOf(request.signal));
    request.abort(new Error('deadline of 10000 ms exceeded'));
    await assert.rejects(leaving, (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.code, 503);
      assert.match(error.message, /looking up the URL of SQS queue "jobs" \(region eu-west-1\) was cancelled/);
      return true;
    });
    const next = urls.resolve(jobs, patient());
    assert.equal(asked.length, 1, 'the next request joins the lookup still running');
    pending[0]?.resolve('https://sqs.eu-west-1.amazonaws.com/1/jobs');
    assert.equal(await next, 'https://sqs.eu-west-1.amazonaws.com/1/jobs');
  });

  it('needs no lookup for a configured URL, and forgets a URL on request', async () => {
    const { asked, pending, lookup } = heldLookups();
    const urls = new QueueUrlResolver(lookup);
    assert.equal(await urls.resolve({ name: 'x', url: 'http://127.0.0.1:1/1/x' }, patient()), 'http://127.0.0.1:1/1/x');
    const first = urls.resolve(jobs, patient());
    pending[0]?.resolve('u1');
    await first;
    urls.forget(jobs);
    const second = urls.resolve(jobs, patient());
    pending[1]?.resolve('u2');
    assert.equal(await second, 'u2');
    assert.equal(asked.length, 2);
  });
});
