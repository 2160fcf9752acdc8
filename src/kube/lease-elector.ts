import { createLogSampler } from '../observability/log-sampler.js';
import type { Logger } from '../observability/logger.js';
import type { LeaseRecord, LeaseStore, StoredLease } from './leases.js';

export interface LeaseElectorOptions {
  store: LeaseStore;
  /** This replica's name in the Lease's holderIdentity: unique per process (host name and a random suffix). */
  identity: string;
  logger: Logger;
  /** How long the others wait, after they last saw the Lease change, before taking it over. Default 15 s. */
  leaseDurationMs?: number;
  /** The holder stops leading when it could not renew for this long; shorter than the Lease duration. Default 10 s. */
  renewDeadlineMs?: number;
  /** Wait between attempts to renew; candidates wait this plus up to 1.2 times it again. Default 2 s. */
  retryPeriodMs?: number;
  now?: () => number;
  random?: () => number;
}

/** client-go's candidates wait retryPeriod × [1, 2.2) between attempts, so they do not try in step. */
const JITTER_FACTOR = 1.2;

/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's leaderelection semantics:
 *
 * - a candidate creates the Lease when there is none, else takes it over once its holder has not
 *   changed it for the holder's `leaseDurationSeconds` (timed by this process's own clock from
 *   when it saw the Lease last change, so clocks of different nodes never matter), or at once
 *   when the holder released it (`holderIdentity` '');
 * - every write names the resourceVersion it read: of two candidates, one wins, the other gets
 *   409 and tries again later;
 * - the holder renews every retry period and stops leading when renewals failed for the renew
 *   deadline, before anyone else may take over (renew deadline < Lease duration);
 * - stop() releases the Lease (holder '', duration 1 s) so another replica takes over at once.
 *
 * `leading` is what callers check before acting as the leader.
 */
export class LeaseElector {
  private readonly store: LeaseStore;
  private readonly identity: string;
  private readonly logger: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly failureLog = createLogSampler(1, 60_000);
  private readonly listeners = new Set<(leading: boolean) => void>();
  private observed: StoredLease | undefined;
  private observedAt = 0;
  private isLeader = false;
  private lastRenewAt = Number.NEGATIVE_INFINITY;
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private wake: (() => void) | undefined;

  constructor(options: LeaseElectorOptions) {
    this.store = options.store;
    this.identity = options.identity;
    this.logger = options.logger;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    if (this.leaseDurationMs <= this.renewDeadlineMs) {
      throw new Error('the Lease duration must be longer than the renew deadline');
    }
    if (this.renewDeadlineMs <= JITTER_FACTOR * this.retryPeriodMs) {
      throw new Error(`the renew deadline must be longer than ${JITTER_FACTOR} times the retry period`);
    }
  }

  /** Whether this replica holds the Lease: renewed within the renew deadline. */
  get leading(): boolean {
    return this.isLeader && this.now() - this.lastRenewAt < this.renewDeadlineMs;
  }

  /** Calls `listener` on every change of `leading`; returns the unsubscribe function. */
  subscribe(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts trying to acquire the Lease, then to renew it, until stop(). */
  start(): void {
    this.loop ??= this.run();
  }

  /**
   * One round of acquire-or-renew (what the loop runs every retry period): true when this
   * replica holds the Lease afterwards.
   */
  async tryAcquireOrRenew(signal?: AbortSignal): Promise<boolean> {
    const now = this.now();
    let held: boolean;
    try {
      held = await this.acquireOrRenew(now, signal);
    } catch (error) {
      const fields = this.failureLog.fields();
      if (fields)
        this.logger.warn(
          { ...fields, lease: this.store.name, err: (error as Error).message },
          'Lease: cannot read or write it',
        );
      held = false;
    }
    if (held) {
      this.lastRenewAt = now;
      this.setLeader(true);
    } else if (this.isLeader && (this.heldByAnother(this.now()) || now - this.lastRenewAt >= this.renewDeadlineMs)) {
      this.setLeader(false);
    }
    return held;
  }

  /**
   * Stops the loop (after the round in flight, at most the transport's timeout) and, when holding
   * the Lease, releases it so another replica takes over at once.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.loop;
    if (!this.isLeader || !this.observed) return;
    this.setLeader(false);
    const now = new Date(this.now());
    const released: LeaseRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: this.observed.record.leaseTransitions,
    };
    try {
      await this.store.update(released, this.observed.resourceVersion);
    } catch (error) {
      this.logger.warn({ lease: this.store.name, err: (error as Error).message }, 'Lease: cannot release it');
    }
  }

  private async acquireOrRenew(now: number, signal: AbortSignal | undefined): Promise<boolean> {
    const desired: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: new Date(now),
      renewTime: new Date(now),
      leaseTransitions: 0,
    };
    const current = await this.store.get(signal);
    if (!current) return this.observe(await this.store.create(desired, signal), now);
    if (current.rawSpec !== this.observed?.rawSpec) this.observedAt = now;
    this.observed = current;
    if (this.heldByAnother(now)) return false;
    const previous = current.record;
    if (previous.holderIdentity === this.identity) {
      if (previous.acquireTime) desired.acquireTime = previous.acquireTime;
      desired.leaseTransitions = previous.leaseTransitions;
    } else {
      desired.leaseTransitions = previous.leaseTransitions + 1;
    }
    return this.observe(await this.store.update(desired, current.resourceVersion, signal), now);
  }

  private observe(written: StoredLease | 'conflict', now: number): boolean {
    if (written === 'conflict') return false;
    this.observed = written;
    this.observedAt = now;
    return true;
  }

  /** Another replica holds the Lease and changed it less than its leaseDurationSeconds ago. */
  private heldByAnother(now: number): boolean {
    const record = this.observed?.record;
    if (!record || record.holderIdentity === '' || record.holderIdentity === this.identity) return false;
    return this.observedAt + record.leaseDurationSeconds * 1000 > now;
  }

  private setLeader(leading: boolean): void {
    if (this.isLeader === leading) return;
    this.isLeader = leading;
    this.logger.info(
      { lease: this.store.name, identity: this.identity },
      leading ? 'Lease acquired: this replica leads' : 'Lease given up or lost: this replica no longer leads',
    );
    for (const listener of this.listeners) listener(leading);
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      // Not cancelled by stop(): a write cut off mid-way would leave the release a stale resourceVersion.
      await this.tryAcquireOrRenew();
      const wait = this.isLeader ? this.retryPeriodMs : this.retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
