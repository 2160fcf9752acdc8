import { LRUCache } from 'lru-cache';

/**
 * An LRUCache bounded by entry count and total size whose storage grows with what it holds.
 * lru-cache's own `max` allocates `max` slots at construction (and its clear() refills them):
 * ~300 KB for 10,000 entries, however few are ever stored. Every Prometheus server has caches of
 * its own, so 500 servers held ~180 MB and seconds of a blocked event loop before they had
 * cached anything (issue 20 item 12). Without `max`, lru-cache grows its arrays as entries come;
 * `maxEntries` is kept here by evicting the least recently used entry after each set (lru-cache's
 * pop(), so `dispose` sees reason 'evict' as it does for a full cache).
 */
export class GrowingLru<K extends {}, V extends {}> extends LRUCache<K, V> {
  constructor(
    readonly maxEntries: number,
    options: Omit<LRUCache.OptionsSizeLimit<K, V, unknown>, 'max'>,
  ) {
    super(options);
  }

  override set(key: K, value: V | undefined, options?: LRUCache.SetOptions<K, V, unknown>): this {
    super.set(key, value, options);
    while (this.size > this.maxEntries) this.pop();
    return this;
  }
}
