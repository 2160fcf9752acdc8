import { LRUCache } from 'lru-cache';
import { SingleFlight } from '../../lib/single-flight.js';

export interface CoalescingCacheOptions<V> {
  /** Most entries kept; the least recently used go first. */
  maxEntries: number;
  /** How long a loaded value stays fresh, in ms; 0 keeps it only for the callers already waiting. */
  ttlMs(value: V): number;
  /**
   * The last part of a value's TTL, as a fraction of it, in which a hit also reloads it in the
   * background, so the callers at its expiry find the new value rather than wait for a load. Default 0.2.
   */
  refreshAheadRatio?: number;
  /** Milliseconds on a monotonic clock; default performance.now (tests move it). */
  now?: () => number;
}

/**
 * A bounded TTL cache whose concurrent misses for one key share a single load, so a burst of
 * identical requests costs the API server one review (lib/single-flight.ts). A hit in the last
 * part of a value's TTL reloads it in the background: every HPA poll shares one decision, and
 * at its expiry they would all wait for the one review that replaces it. A value is never served
 * past its TTL. Failed loads are not cached; a failed reload ahead is not retried by later hits of
 * the same value (its expiry loads again, as without refresh-ahead).
 */
export class CoalescingCache<V extends object> {
  private readonly entries: LRUCache<string, V>;
  private readonly loads = new SingleFlight<V>({ abandoned: 'finish' });
  private readonly refreshAheadRatio: number;
  /** Values whose reload ahead failed: held weakly, they leave with their entry. */
  private readonly reloadFailed = new WeakSet<V>();

  constructor(private readonly options: CoalescingCacheOptions<V>) {
    this.refreshAheadRatio = options.refreshAheadRatio ?? 0.2;
    const now = options.now;
    // lru-cache reuses a clock reading for 1 ms of real time: a clock the test moves must be read every time.
    const clock = now ? { perf: { now }, ttlResolution: 0 } : {};
    this.entries = new LRUCache<string, V>({ max: options.maxEntries, ...clock });
  }

  async getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const cached = this.entries.get(key);
    if (cached === undefined) return this.loads.run(key, () => this.loadAndKeep(key, load));
    if (this.dueForReload(key, cached)) {
      this.loads.start(key, () => this.loadAndKeep(key, load)).settled.catch(() => this.reloadFailed.add(cached));
    }
    return cached;
  }

  clear(): void {
    this.entries.clear();
  }

  private dueForReload(key: string, cached: V): boolean {
    if (this.loads.has(key) || this.reloadFailed.has(cached)) return false;
    const ttl = this.options.ttlMs(cached);
    return this.entries.getRemainingTTL(key) <= ttl * this.refreshAheadRatio;
  }

  private async loadAndKeep(key: string, load: () => Promise<V>): Promise<V> {
    const value = await load();
    const ttl = this.options.ttlMs(value);
    if (ttl > 0) this.entries.set(key, value, { ttl });
    return value;
  }
}
