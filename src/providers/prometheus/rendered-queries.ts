/**
 * PromQL already rendered for a request shape, keyed by a string built from the request's values
 * (see providers/provider.ts: never by the identity of the request's objects). Rendering runs Go
 * templates; a cached hit should not pay for that on every request.
 *
 * Bounded the simple way: when full it forgets everything and starts again, so a flood of distinct
 * selectors costs at most `maxEntries` renders' worth of memory. The owner clears it when the
 * rules' series change (a relist), since the key names the metric, not the entry it resolved to.
 */
export class RenderedQueries<Rendered> {
  private readonly kept = new Map<string, Rendered>();

  constructor(private readonly maxEntries = 10_000) {}

  get(key: string, render: () => Rendered): Rendered {
    const kept = this.kept.get(key);
    if (kept !== undefined) return kept;
    const rendered = render();
    if (this.kept.size >= this.maxEntries) this.kept.clear();
    this.kept.set(key, rendered);
    return rendered;
  }

  clear(): void {
    // Map.clear() allocates a new table even for an empty map, and forgets come per relist and source.
    if (this.kept.size > 0) this.kept.clear();
  }
}

/** The parts of a memo key, joined with a character no Kubernetes name or selector holds. */
export function memoKey(...parts: readonly (string | undefined)[]): string {
  // Concatenated in a loop: map and join would make two arrays per request.
  let key = parts[0] ?? '';
  for (let i = 1; i < parts.length; i++) key += `\n${parts[i] ?? ''}`;
  return key;
}
