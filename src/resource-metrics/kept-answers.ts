import { LRUCache } from 'lru-cache';
import { isCachedEntry, markCachedEntry } from '../cache/entry-identity.js';
import type { ObjectSummary } from '../kube/types.js';
import type { Samples } from './usage.js';

/**
 * Request shapes kept, and the objects their answers hold in all: an answer and the body the HTTP
 * layer keeps beside it cost about 600 bytes per pod, so this bounds them near 36 MB (a 5,000-pod
 * `kubectl top pod -A` is 5,000 of them); a larger answer is joined per request.
 */
const KEPT_SHAPES = 1024;
const KEPT_OBJECTS = 60_000;

interface Kept<T> {
  objects: readonly ObjectSummary[] | undefined;
  cpu: Samples['cpu'];
  memory: Samples['memory'];
  answer: readonly T[];
}

/**
 * Joined answers kept per request shape (namespace, name, selector) while their inputs stay the
 * same: the lister's frozen objects (the informers hand the same array out until the namespace
 * changes) and both queries' cached samples (the cache hands the same array out until it loads
 * anew). A cache hit is then a lookup: no join, and the answer carries the cache's entry identity
 * (markCachedEntry), so the HTTP layer renders its body once per refresh too.
 */
export class KeptAnswers<T extends object> {
  private readonly kept = new LRUCache<string, Kept<T>>({
    max: KEPT_SHAPES,
    maxSize: KEPT_OBJECTS,
    sizeCalculation: (entry) => entry.answer.length + 1,
  });

  /**
   * The answer for `shape` from `objects` (undefined: no cluster, the samples name the objects)
   * and `samples`: the kept one while all three are the very arrays it was joined from, else
   * `join()`'s, kept when its inputs are shared.
   */
  get(
    shape: string,
    objects: readonly ObjectSummary[] | undefined,
    samples: Samples,
    join: () => readonly T[],
  ): readonly T[] {
    const kept = this.kept.get(shape);
    if (kept && kept.objects === objects && kept.cpu === samples.cpu && kept.memory === samples.memory) {
      return kept.answer;
    }
    const answer = join();
    const shared =
      (objects === undefined || Object.isFrozen(objects)) &&
      isCachedEntry(samples.cpu) &&
      isCachedEntry(samples.memory);
    if (!shared || answer.length >= KEPT_OBJECTS) return answer;
    markCachedEntry(answer);
    for (const item of answer) Object.freeze(item);
    Object.freeze(answer);
    this.kept.set(shape, { objects, cpu: samples.cpu, memory: samples.memory, answer });
    return answer;
  }
}
