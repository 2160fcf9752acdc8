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
