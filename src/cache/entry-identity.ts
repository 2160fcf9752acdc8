/**
 * Entry identity: the objects the cache has stored as an entry's value, and for an array value,
 * its object elements. Such an object is handed out again, unchanged, to every caller until the
 * entry is replaced by a new load (a new object); an object not marked was built for one caller.
 * A layer above may therefore keep what it derives from a marked object beside it (the HTTP layer
 * keeps rendered response bodies so: server/respond/rendered-bodies.ts). Marked at load, so a hit
 * pays nothing.
 *
 * The mark and what is kept beside it live on the object itself, in a hidden slot (a
 * non-enumerable symbol property: JSON, Object.keys and deepStrictEqual do not see it), so both
 * go with the object. They were once kept in a WeakSet and a WeakMap: under 10,000 keys reloaded
 * every 15 s those tables filled with dead values that only a full GC takes out, and each time
 * one doubled it was rehashed in one call, stalling every request for 30–90 ms
 * (bench/weak-set-churn.ts). A frozen object takes no new property, so a backend that freezes
 * its answer before the cache sees it gives it a slot first (`withEntrySlot`); an object frozen
 * without one is still marked, in a WeakSet, the old way.
 */

const SLOT = Symbol('cached entry');

interface EntrySlot {
  cached: boolean;
  /** Who keeps something beside this object (one keeper at a time), and what. */
  keeper: object | undefined;
  kept: unknown;
}

type Slotted = { [SLOT]?: EntrySlot };

/** Marks of objects frozen without a slot. */
const frozenMarks = new WeakSet<object>();
/** What is kept beside such objects, by keeper. */
const frozenKept = new WeakMap<object, { keeper: object; kept: unknown }>();

function slotOf(value: object): EntrySlot | undefined {
  return (value as Slotted)[SLOT];
}

function addSlot(value: object): EntrySlot | undefined {
  const existing = slotOf(value);
  if (existing || !Object.isExtensible(value)) return existing;
  const slot: EntrySlot = { cached: false, keeper: undefined, kept: undefined };
  Object.defineProperty(value, SLOT, { value: slot });
  return slot;
}

/**
 * Gives `value` (and, for an array, its object elements) the slot its entry mark will live in;
 * called by a backend on an answer it freezes before the cache stores it. Returns `value`.
 */
export function withEntrySlot<T extends object>(value: T): T {
  forEntryObjects(value, addSlot);
  return value;
}

/** Whether `value` is (part of) a value the cache stored and hands out again. */
export function isCachedEntry(value: object): boolean {
  return slotOf(value)?.cached ?? frozenMarks.has(value);
}

/**
 * Called by a QueryCache on every value it stores, and by a backend on an answer it derives from
 * cached entries and keeps, handing it out again unchanged while they stay the same. Returns how
 * many objects it marked, for the cache to charge (CACHED_MARK_BYTES each).
 */
export function markCachedEntry(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return forEntryObjects(value, mark);
}

/** Calls `visit` on `value` and, for an array, on each of its object elements; returns how many. */
function forEntryObjects(value: object, visit: (object: object) => void): number {
  visit(value);
  if (!Array.isArray(value)) return 1;
  let visited = 1;
  for (const element of value) {
    if (typeof element !== 'object' || element === null) continue;
    visit(element);
    visited++;
  }
  return visited;
}

function mark(value: object): void {
  const slot = addSlot(value);
  if (slot) slot.cached = true;
  else frozenMarks.add(value);
}

/**
 * What one layer keeps beside cached entries, one thing per entry, living as long as the entry's
 * object: `get` answers only what this keeper kept, so two keepers of one object never mix up
 * their things (the last one to keep replaces the other's). Nothing is kept beside an object that
 * is not marked.
 */
export class KeptBesideEntries<T> {
  get(value: object): T | undefined {
    const kept = slotOf(value) ?? frozenKept.get(value);
    // Only this keeper stores under itself, and it stores only Ts.
    return kept?.keeper === this ? (kept.kept as T) : undefined;
  }

  keep(value: object, kept: T): void {
    const slot = slotOf(value);
    if (slot?.cached) {
      slot.keeper = this;
      slot.kept = kept;
    } else if (!slot && frozenMarks.has(value)) {
      frozenKept.set(value, { keeper: this, kept });
    }
  }
}
