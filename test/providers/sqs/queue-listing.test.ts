import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../src/observability/logger.js';
import { QueuePrefixListing } from '../../../src/providers/sqs/queue-listing.js';
import type { QueueRef } from '../../../src/providers/sqs/queue-urls.js';

/** The background listing of queueNamePrefix metrics: shared per prefix, refreshed, kept on failure. */
test('each prefix is listed once however many metrics share it; a failed refresh keeps the last listing', async () => {
  const calls: string[] = [];
  let answer: QueueRef[] | Error = [{ name: 'team-a-1' }];
  const listing = new QueuePrefixListing(
    [{ prefix: 'team-a-' }, { prefix: 'team-a-' }, { prefix: 'team-b-', region: 'eu-west-1' }],
    async (prefix) => {
      calls.push(`${prefix.region ?? ''}:${prefix.prefix}`);
      if (answer instanceof Error) throw answer;
      return answer.filter((q) => q.name.startsWith(prefix.prefix));
    },
    60_000,
    silentLogger(),
  );
  assert.equal(listing.queues({ prefix: 'team-a-' }), undefined, 'not listed before start');
  await listing.start();
  assert.deepEqual(calls, [':team-a-', 'eu-west-1:team-b-']);
  assert.deepEqual(listing.queues({ prefix: 'team-a-' }), [{ name: 'team-a-1' }]);
  assert.deepEqual(listing.queues({ prefix: 'team-b-', region: 'eu-west-1' }), []);

  answer = [{ name: 'team-a-1' }, { name: 'team-a-2' }];
  await listing.refresh();
  assert.deepEqual(
    listing.queues({ prefix: 'team-a-' })?.map((q) => q.name),
    ['team-a-1', 'team-a-2'],
  );

  answer = new Error('throttled');
  await listing.refresh();
  assert.deepEqual(
    listing.queues({ prefix: 'team-a-' })?.map((q) => q.name),
    ['team-a-1', 'team-a-2'],
  );
  listing.close();
});

test('a slow ListQueues is not overlapped by the next, and close() waits for it to end', async () => {
  let inFlight = 0;
  let mostAtOnce = 0;
  const slow: { release: () => void; signal: AbortSignal }[] = [];
  const listing = new QueuePrefixListing(
    [{ prefix: 'team-a-' }],
    async (_prefix, signal) => {
      inFlight++;
      mostAtOnce = Math.max(mostAtOnce, inFlight);
      const first = slow.length === 0;
      const answered = new Promise<void>((release) => slow.push({ release, signal }));
      // The first listing answers at once; every later one hangs until the test releases it.
      if (!first) await answered;
      inFlight--;
      return [{ name: 'team-a-1' }];
    },
    10,
    silentLogger(),
  );
  await listing.start();
  // Twenty intervals pass while the second listing hangs.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(slow.length, 2, 'one listing in flight, none started beside it');
  assert.equal(mostAtOnce, 1);

  let closed = false;
  const closing = listing.close().then(() => {
    closed = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(slow[1]?.signal.aborted, true, 'close() aborts the listing in flight');
  assert.equal(closed, false, 'close() waits for it');
  slow[1]?.release();
  await closing;
  assert.equal(closed, true);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(slow.length, 2, 'nothing is listed after close()');
});
