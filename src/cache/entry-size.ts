/**
 * What one cache entry costs on the V8 heap, estimated cheaply enough to run on every store.
 * `maxBytes` bounds the sum of these estimates; test/cache/entry-size.test.ts and bench (c)
 * hold them to the heap V8 really grows by for Prometheus answers of 1–3 samples.
 *
 * The sizes are V8's on 64-bit Node 20 as released (8-byte slots, no pointer compression; a build
 * with it uses less), measured with `--expose-gc` and `process.memoryUsage().heapUsed` over
 * 50,000 copies of each shape. Not charged: the spare room of lru-cache's arrays, which grow
 * with the entries (growing-lru.ts), the 56 bytes an entry gains while its backend fails
 * (`failedAt`), and whatever is kept beside a cached value outside the cache.
 */
const SLOT_BYTES = 8;
/** Sequential string: map, hash and length, then one byte per Latin-1 character (two otherwise), padded to 8. */
const STRING_HEADER_BYTES = 16;
/**
 * Object header (map, properties, elements: 24 bytes) plus 16 spare property slots on average:
 * objects built by spread or rest (a sample's `{ labels, ...point }`, labels without `__name__`)
 * carry 24–40 bytes of them, JSON.parse'd and literal objects (most labels) none.
 */
const OBJECT_BYTES = 40;
/** Array header (32 bytes) and the header of its elements store (16); then one slot per element. */
const ARRAY_BYTES = 48;
/**
 * A number in an object field: a boxed HeapNumber. Small integers need no box, but a field that
 * has once held a fraction boxes every value after it, as sample values do.
 */
const NUMBER_BYTES = 16;
/** A Date: header, its time value and eight cached calendar fields (96), and the boxed time value (16). */
const DATE_BYTES = 112;
const BIGINT_BYTES = 24;
/** A Buffer or other typed array: its object (JSArrayBuffer and view, ~100 bytes) beside its bytes, which live outside the heap. */
const TYPED_ARRAY_BYTES = 104;

/**
 * Fixed cost of one entry beyond its key and value: the cache's entry record (80 bytes with its
 * boxed `loadedAt`), lru-cache's Map slot for the key (28–56 bytes as the Map's table fills and
 * doubles; the worst case is charged) and its five per-entry array slots (key, value, size, next,
 * prev: 40; it has no `max`, see growing-lru.ts); then the same entry in the process-wide budget
 * (cache-budget.ts), an lru-cache without `max` too: a Map slot (56) and five array slots (40).
 * Measured: the budget added 97–110 heap bytes per entry on Node 20, 22 and 24.
 */
export const ENTRY_OVERHEAD_BYTES = 80 + 56 + 5 * SLOT_BYTES + (56 + 5 * SLOT_BYTES);

/**
 * One object marked with the cache's entry identity (entry-identity.ts): its slot (an object of
 * three fields) and the property store the slot's property takes on the marked object. Measured
 * with test/support/cache-heap-fill.ts on Node 20: 91 bytes more per one-sample entry (array and
 * sample marked) than when the marks were WeakSet entries, charged 32 each then.
 */
export const CACHED_MARK_BYTES = 80;

/** Characters outside Latin-1 make V8 store a whole string at two bytes per character. */
const TWO_BYTE_CHARACTER = /[\u0100-\uffff]/;

/**
 * A string as one flat sequence of characters. Testing it with a regular expression makes that
 * true: V8 flattens the subject in place, and a string built by `+=` (as template output is) is
 * otherwise a rope of small strings that can take several times the bytes of its characters.
 */
function stringBytes(text: string): number {
  const perCharacter = TWO_BYTE_CHARACTER.test(text) ? 2 : 1;
  return Math.ceil((STRING_HEADER_BYTES + perCharacter * text.length) / SLOT_BYTES) * SLOT_BYTES;
}

/**
 * The heap a value holds, by a walk of it: what each string, number, Date, array and plain object
 * costs in V8, an object reached twice counted once; a typed array (a Buffer) by its bytes. Meant
 * for plain data, as backends cache: the contents of Maps, Sets and private class fields are not
 * seen, and an array grown by push (or filter, flatMap) may hold up to 16 spare slots more than
 * its length.
 */
export function estimateValueBytes(value: unknown): number {
  return walk(value, new Set());
}

/** Bytes the value adds beyond the slot that refers to it. */
function walk(value: unknown, seen: Set<object>): number {
  switch (typeof value) {
    case 'string':
      return stringBytes(value);
    case 'number':
      return NUMBER_BYTES;
    case 'bigint':
      return BIGINT_BYTES;
    case 'object':
      if (value === null || seen.has(value)) return 0;
      seen.add(value);
      if (value instanceof Date) return DATE_BYTES;
      // By its length: walked, a Buffer's values are one step per byte (an upstream's answer is one).
      if (ArrayBuffer.isView(value)) return TYPED_ARRAY_BYTES + value.byteLength;
      if (Array.isArray(value)) return sum(ARRAY_BYTES, value, seen);
      return sum(OBJECT_BYTES, Object.values(value), seen);
    default:
      // Booleans and undefined live in the slot itself; functions and symbols are not data.
      return 0;
  }
}

function sum(header: number, items: readonly unknown[], seen: Set<object>): number {
  let bytes = header + SLOT_BYTES * items.length;
  for (const item of items) bytes += walk(item, seen);
  return bytes;
}

/** The size the cache charges for one entry: its value's estimate, its key string and the fixed overhead. */
export function entryBytes(key: string, valueBytes: number): number {
  return Math.max(0, Math.ceil(valueBytes)) + stringBytes(key) + ENTRY_OVERHEAD_BYTES;
}

/**
 * An error kept for `negativeTtl` holds its captured stack trace as well as its message: about
 * 880 heap bytes for a NotFound with a 105-character message thrown 12 frames deep (Node 20).
 */
const RETAINED_ERROR_BYTES = 768;

/** The heap a kept error holds: its object and stack trace, and its message. */
export function estimateErrorBytes(error: Error): number {
  return RETAINED_ERROR_BYTES + estimateValueBytes(error.message);
}
