import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LRUCache } from 'lru-cache';
import { ApiError } from '../../api/errors.js';
import type { Deadline } from '../../lib/deadline.js';
import { SingleFlight } from '../../lib/single-flight.js';
import { cancelled } from '../aws/abort.js';
import type { AwsBackendBase } from '../aws/backend-base.js';

/** A queue as a request or the config names it. A configured `url` needs no lookup. */
export interface QueueRef {
  name: string;
  region?: string;
  accountId?: string;
  url?: string;
}

export function describeQueue(ref: QueueRef): string {
  const where = [ref.accountId && `account ${ref.accountId}`, ref.region && `region ${ref.region}`].filter(Boolean);
  return `SQS queue "${ref.name}"${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
}

/** Queues the adapter may remember the URL of; the allow-list usually keeps it far smaller. */
const MAX_REMEMBERED_URLS = 10_000;

/**
 * Queue URLs, looked up with GetQueueUrl once per queue. A resolved URL is remembered (until the
 * queue turns out to be gone, see `forget`); a failed lookup is not, so a queue created later is
 * found. Concurrent requests for one queue share a single lookup (lib/single-flight.ts), which
 * runs to its end (bounded by the SDK's timeout) even when every caller has left, so a slow
 * answer is still remembered for the next request.
 */
export class QueueUrlResolver {
  private readonly resolved = new LRUCache<string, string>({ max: MAX_REMEMBERED_URLS });
  private readonly lookups = new SingleFlight<string>({ abandoned: 'finish' });

  constructor(private readonly lookup: (ref: QueueRef) => Promise<string>) {}

  /** `deadline.signal` is read only when the caller has to wait for a lookup. */
  resolve(ref: QueueRef, deadline: Deadline): Promise<string> {
    if (ref.url !== undefined) return Promise.resolve(ref.url);
    const key = keyOf(ref);
    const known = this.resolved.get(key);
    if (known !== undefined) return Promise.resolve(known);
    const signal = deadline.signal;
    const lookup = async (): Promise<string> => {
      const url = await this.lookup(ref);
      this.resolved.set(key, url);
      return url;
    };
    return this.lookups.run(key, lookup, signal).catch((error: unknown) => {
      throw signal.aborted && error === signal.reason
        ? cancelled(`looking up the URL of ${describeQueue(ref)}`)
        : error;
    });
  }

  forget(ref: QueueRef): void {
    if (ref.url === undefined) this.resolved.delete(keyOf(ref));
  }
}

function keyOf(ref: QueueRef): string {
  return `${ref.region ?? ''}|${ref.accountId ?? ''}|${ref.name}`;
}

/** GetQueueUrl, as the resolver's `lookup`. */
export function getQueueUrl(aws: AwsBackendBase<SQSClient>): (ref: QueueRef) => Promise<string> {
  return async (ref) => {
    const output = await aws.call(
      ref,
      { service: 'SQS', operation: 'GetQueueUrl', target: describeQueue(ref) },
      (client) => client.send(new GetQueueUrlCommand({ QueueName: ref.name, QueueOwnerAWSAccountId: ref.accountId })),
    );
    if (!output.QueueUrl) throw ApiError.unavailable(`SQS GetQueueUrl returned no URL for ${describeQueue(ref)}`);
    return output.QueueUrl;
  };
}
