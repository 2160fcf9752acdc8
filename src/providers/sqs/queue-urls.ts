import { LRUCache } from 'lru-cache';
import type { Deadline } from '../../lib/deadline.js';
import { abandonOnAbort } from '../aws/abort.js';

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
 * found. Concurrent requests for one queue share a single lookup.
 */
export class QueueUrlResolver {
  private readonly resolved = new LRUCache<string, string>({ max: MAX_REMEMBERED_URLS });
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly lookup: (ref: QueueRef) => Promise<string>) {}

  /** `caller.signal` is read only when the caller has to wait for a lookup. */
  resolve(ref: QueueRef, deadline: Deadline): Promise<string> {
    if (ref.url !== undefined) return Promise.resolve(ref.url);
    const key = keyOf(ref);
    const known = this.resolved.get(key);
    if (known !== undefined) return Promise.resolve(known);
    let lookup = this.pending.get(key);
    if (!lookup) {
      lookup = this.lookup(ref)
        .then((url) => {
          this.resolved.set(key, url);
          return url;
        })
        .finally(() => this.pending.delete(key));
      // Every caller may have left by the time a lookup fails; the rejection is theirs, not unhandled.
      lookup.catch(() => undefined);
      this.pending.set(key, lookup);
    }
    return abandonOnAbort(lookup, deadline.signal, `looking up the URL of ${describeQueue(ref)}`);
  }

  forget(ref: QueueRef): void {
    if (ref.url === undefined) this.resolved.delete(keyOf(ref));
  }
}

function keyOf(ref: QueueRef): string {
  return `${ref.region ?? ''}|${ref.accountId ?? ''}|${ref.name}`;
}
