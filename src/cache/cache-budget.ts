import { LRUCache } from 'lru-cache';
import type { Registry } from 'prom-client';
import { cacheMetricsFor } from './cache-metrics.js';

/** An entry as the budget sees it: its estimated bytes (entry-size.ts), fixed while it is held. */
export interface BudgetedEntry {
  readonly size: number;
}

/** A cache whose entries the budget holds; told when the budget evicts one of them. */
export interface BudgetHolder<E extends BudgetedEntry> {
  evictedByBudget(entry: E): void;
}

/**
 * One byte budget for every backend's cache in the process: the deployment's memory limit is one
 * number, however many backends and upstreams are configured. Each cache keeps its own entries,
 * settings and per-backend limits, and registers every entry it stores here too; the budget orders
 * all of them by last use and, when a new entry would take the sum past `maxBytes`, evicts the
 * least recently used entries of whichever caches hold them.
 */
export class CacheBudget {
  private lru: LRUCache<BudgetedEntry, BudgetHolder<BudgetedEntry>>;

  /** `registry`, when given, shows the budget as hpa_metrics_adapter_cache_budget_bytes. */
  constructor(
    maxBytes: number,
    private readonly registry?: Registry,
  ) {
    this.lru = budgetLru(maxBytes);
    this.report();
  }

  /** The budget in estimated bytes. */
  get maxBytes(): number {
    return this.lru.maxSize;
  }

  /** Estimated bytes held by every cache together. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  /** Holds `entry` for `holder`, evicting others first if it does not fit; the caller has checked that it fits the budget. */
  add<E extends BudgetedEntry>(entry: E, holder: BudgetHolder<E>): void {
    this.lru.set(entry, holder as BudgetHolder<BudgetedEntry>);
  }

  /** Marks `entry` as just used. */
  touch(entry: BudgetedEntry): void {
    this.lru.get(entry);
  }

  /** Forgets `entry`, which its cache dropped itself; unknown entries are ignored. */
  remove(entry: BudgetedEntry): void {
    this.lru.delete(entry);
  }

  /**
   * Applies a new budget (a reload): every entry is carried over, least recently used first, so
   * a smaller budget evicts those that were used longest ago, and entries larger than the new
   * budget are evicted too.
   */
  resize(maxBytes: number): void {
    if (maxBytes === this.maxBytes) return;
    const old = this.lru;
    this.lru = budgetLru(maxBytes);
    // entries() runs from the most recently used, so the reversed list is oldest first.
    for (const [entry, holder] of [...old.entries()].reverse()) {
      if (entry.size > maxBytes) holder.evictedByBudget(entry);
      else this.lru.set(entry, holder);
    }
    this.report();
  }

  private report(): void {
    if (this.registry) cacheMetricsFor(this.registry).budgetBytes.set(this.maxBytes);
  }
}

function budgetLru(maxBytes: number): LRUCache<BudgetedEntry, BudgetHolder<BudgetedEntry>> {
  return new LRUCache<BudgetedEntry, BudgetHolder<BudgetedEntry>>({
    maxSize: maxBytes,
    sizeCalculation: (_holder, entry) => entry.size,
    // After the entry has left the LRU, so the holder may call remove() as it drops it.
    disposeAfter: (holder, entry, reason) => {
      if (reason === 'evict') holder.evictedByBudget(entry);
    },
  });
}
