import type { Logger } from '../../observability/logger.js';
import type { QueuePrefix } from './metric-plans.js';
import type { QueueRef } from './queue-urls.js';

function keyOf(prefix: QueuePrefix): string {
  return `${prefix.region ?? ''}|${prefix.accountId ?? ''}|${prefix.prefix}`;
}

/**
 * The queues of each queueNamePrefix metric, listed with ListQueues in the background every
 * `intervalMs`, never per request. A failed listing keeps the last one (and says so in the log);
 * a prefix not listed yet has no queues to offer, which the caller reports.
 */
export class QueuePrefixListing {
  private readonly found = new Map<string, QueueRef[]>();
  private readonly closing = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** Each prefix once, however many metrics share it. */
  private readonly prefixes: readonly QueuePrefix[];

  constructor(
    prefixes: readonly QueuePrefix[],
    private readonly list: (prefix: QueuePrefix, signal: AbortSignal) => Promise<QueueRef[]>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {
    this.prefixes = [...new Map(prefixes.map((p) => [keyOf(p), p])).values()];
  }

  /** Lists every prefix once (failures are logged, not thrown), then keeps listing in the background. */
  async start(): Promise<void> {
    if (this.prefixes.length === 0) return;
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  /** The queues last listed for `prefix`; undefined before the first listing succeeded. */
  queues(prefix: QueuePrefix): readonly QueueRef[] | undefined {
    return this.found.get(keyOf(prefix));
  }

  async refresh(): Promise<void> {
    await Promise.all(
      this.prefixes.map(async (prefix) => {
        try {
          const queues = await this.list(prefix, this.closing.signal);
          this.found.set(keyOf(prefix), queues);
        } catch (error) {
          if (this.closing.signal.aborted) return;
          this.logger.warn(
            { prefix: prefix.prefix, kept: this.found.get(keyOf(prefix))?.length ?? 0, error: String(error) },
            'sqs: ListQueues failed; keeping the last listing of the prefix',
          );
        }
      }),
    );
  }

  close(): void {
    clearInterval(this.timer);
    this.closing.abort();
  }
}
