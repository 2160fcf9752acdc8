import { ListQueuesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BackgroundRefresh } from '../../lib/background-refresh.js';
import type { Logger } from '../../observability/logger.js';
import type { AwsBackendBase } from '../aws/backend-base.js';
import { type QueuePrefix, queueNameOfUrl } from './metric-plans.js';
import type { QueueRef } from './queue-urls.js';

function keyOf(prefix: QueuePrefix): string {
  return `${prefix.region ?? ''}|${prefix.accountId ?? ''}|${prefix.prefix}`;
}

/**
 * The queues of each queueNamePrefix metric, listed with ListQueues in the background every
 * `intervalMs` (lib/background-refresh.ts: a slow listing is never overlapped by the next), never
 * per request. A failed listing keeps the last one (and says so in the log); a prefix not listed
 * yet has no queues to offer, which the caller reports.
 */
export class QueuePrefixListing {
  /** Each prefix once, however many metrics share it. */
  private readonly listings = new Map<string, { prefix: QueuePrefix; refresh: BackgroundRefresh<QueueRef[]> }>();

  constructor(
    prefixes: readonly QueuePrefix[],
    list: (prefix: QueuePrefix, signal: AbortSignal) => Promise<QueueRef[]>,
    intervalMs: number,
    private readonly logger: Logger,
  ) {
    for (const prefix of prefixes) {
      if (this.listings.has(keyOf(prefix))) continue;
      const refresh: BackgroundRefresh<QueueRef[]> = new BackgroundRefresh({
        run: (signal) => list(prefix, signal),
        intervalMs,
        onFailure: (error) => this.warn(prefix, refresh, error),
        closeReason: 'sqs backend closed',
      });
      this.listings.set(keyOf(prefix), { prefix, refresh });
    }
  }

  /** Lists every prefix once (failures are logged, not thrown), then keeps listing in the background. */
  async start(): Promise<void> {
    await Promise.all([...this.listings.values()].map(({ refresh }) => refresh.start()));
  }

  /** The queues last listed for `prefix`; undefined before the first listing succeeded. */
  queues(prefix: QueuePrefix): readonly QueueRef[] | undefined {
    return this.listings.get(keyOf(prefix))?.refresh.latest;
  }

  /** Lists every prefix now (after any listing in flight); a failure is logged and keeps the last listing. */
  async refresh(): Promise<void> {
    await Promise.all(
      [...this.listings.values()].map(({ prefix, refresh }) =>
        refresh.refresh().then(
          () => undefined,
          (error: unknown) => {
            if (!refresh.signal.aborted) this.warn(prefix, refresh, error);
          },
        ),
      ),
    );
  }

  /** Stops listing; resolves once the listings in flight have ended. */
  async close(): Promise<void> {
    await Promise.all([...this.listings.values()].map(({ refresh }) => refresh.close()));
  }

  private warn(prefix: QueuePrefix, refresh: BackgroundRefresh<QueueRef[]>, error: unknown): void {
    this.logger.warn(
      { prefix: prefix.prefix, kept: refresh.latest?.length ?? 0, error: String(error) },
      'sqs: ListQueues failed; keeping the last listing of the prefix',
    );
  }
}

/** Queues one prefix may list; ListQueues pages hold 1,000. */
const MAX_LISTED_QUEUES = 10_000;

/** ListQueues for a prefix, every page (up to MAX_LISTED_QUEUES queues), as the listing's `list`. */
export function listQueuesByPrefix(
  aws: AwsBackendBase<SQSClient>,
): (prefix: QueuePrefix, signal: AbortSignal) => Promise<QueueRef[]> {
  return async (prefix, signal) => {
    const queues: QueueRef[] = [];
    let nextToken: string | undefined;
    do {
      const output = await aws.call(
        prefix,
        { service: 'SQS', operation: 'ListQueues', target: `SQS queues named "${prefix.prefix}*"` },
        (client) =>
          client.send(
            new ListQueuesCommand({ QueueNamePrefix: prefix.prefix, MaxResults: 1000, NextToken: nextToken }),
            {
              abortSignal: signal,
            },
          ),
      );
      for (const url of output.QueueUrls ?? []) {
        const ref: QueueRef = { name: queueNameOfUrl(url), url };
        if (prefix.region !== undefined) ref.region = prefix.region;
        if (prefix.accountId !== undefined) ref.accountId = prefix.accountId;
        queues.push(ref);
      }
      nextToken = output.NextToken;
    } while (nextToken && queues.length < MAX_LISTED_QUEUES);
    return queues;
  };
}
