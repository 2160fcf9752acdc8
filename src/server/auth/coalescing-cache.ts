import { LRUCache } from 'lru-cache';

export interface CoalescingCacheOptions<V> {
  /** Most entries kept; the least recently used go first. */
  maxEntries: number;
  /** How long a loaded value stays fresh, in ms; 0 keeps it only for the callers already waiting. */
  ttlMs(value: V): number;
}

/**
 * A bounded TTL cache whose concurrent misses for one key share a single load, so a burst of
 * identical requests costs the API server one review. Failed loads are not cached.
 */
export class CoalescingCache<V extends NonNullable<unknown>> {
  private readonly entries: LRUCache<string, V>;
  private readonly inflight = new Map<string, Promise<V>>();

  constructor(private readonly options: CoalescingCacheOptions<V>) {
    this.entries = new LRUCache<string, V>({ max: options.maxEntries });
  }

  async getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const cached = this.entries.get(key);
    if (cached !== undefined) return cached;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const loading = load()
      .then((value) => {
        const ttl = this.options.ttlMs(value);
        if (ttl > 0) this.entries.set(key, value, { ttl });
        return value;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, loading);
    return loading;
  }

  clear(): void {
    this.entries.clear();
  }
}
