import { LRUCache } from 'lru-cache';
import { SingleFlight } from '../../lib/single-flight.js';

export interface CoalescingCacheOptions<V> {
  /** Most entries kept; the least recently used go first. */
  maxEntries: number;
  /** How long a loaded value stays fresh, in ms; 0 keeps it only for the callers already waiting. */
  ttlMs(value: V): number;
}

/**
 * A bounded TTL cache whose concurrent misses for one key share a single load, so a burst of
 * identical requests costs the API server one review (lib/single-flight.ts). Failed loads are not cached.
 */
export class CoalescingCache<V extends NonNullable<unknown>> {
  private readonly entries: LRUCache<string, V>;
  private readonly loads = new SingleFlight<V>();

  constructor(private readonly options: CoalescingCacheOptions<V>) {
    this.entries = new LRUCache<string, V>({ max: options.maxEntries });
  }

  async getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const cached = this.entries.get(key);
    if (cached !== undefined) return cached;
    return this.loads.run(key, async () => {
      const value = await load();
      const ttl = this.options.ttlMs(value);
      if (ttl > 0) this.entries.set(key, value, { ttl });
      return value;
    });
  }

  clear(): void {
    this.entries.clear();
  }
}
