import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCachedEntry, KeptBesideEntries, markCachedEntry, withEntrySlot } from '../../src/cache/entry-identity.js';

function answer() {
  return [
    { labels: { queue: 'a' }, value: 1, timestamp: new Date(0) },
    { labels: { queue: 'b' }, value: 2, timestamp: new Date(0) },
  ];
}

describe('entry identity: what the cache stored and hands out again', () => {
  it('marks a stored value and its object elements, and counts the marks for the byte charge', () => {
    const value = answer();
    assert.equal(isCachedEntry(value), false);
    assert.equal(markCachedEntry(value), 3);
    assert.equal(isCachedEntry(value), true);
    assert.equal(isCachedEntry(value[0] as object), true);
    assert.equal(isCachedEntry(answer()), false, 'an equal object the cache did not store');
    assert.equal(markCachedEntry(7), 0);
    assert.equal(markCachedEntry([1, 'x']), 1, 'primitives in an array are not marked');
  });

  it('marks an answer frozen after withEntrySlot, as the Prometheus path freezes it before the cache stores it', () => {
    const value = withEntrySlot(answer());
    for (const sample of value) Object.freeze(sample);
    Object.freeze(value);
    assert.equal(isCachedEntry(value), false, 'a slot alone is no mark');
    markCachedEntry(value);
    assert.equal(isCachedEntry(value), true);
    assert.equal(isCachedEntry(value[1] as object), true);
    assert.ok(Object.isFrozen(value));
  });

  it('still marks, and keeps beside, an object frozen without a slot', () => {
    const value = Object.freeze(answer());
    markCachedEntry(value);
    assert.equal(isCachedEntry(value), true);
    const kept = new KeptBesideEntries<string>();
    kept.keep(value, 'body');
    assert.equal(kept.get(value), 'body');
  });

  it('is invisible to JSON, Object.keys and deep equality', () => {
    const value = answer();
    markCachedEntry(value);
    new KeptBesideEntries<string>().keep(value, 'body');
    assert.equal(JSON.stringify(value), JSON.stringify(answer()));
    assert.deepEqual(Object.keys(value[0] as object), ['labels', 'value', 'timestamp']);
    assert.deepStrictEqual(value, answer());
  });
});

describe('KeptBesideEntries', () => {
  it("answers only its own keeper's thing; the last keeper to keep replaces the other's", () => {
    const value = answer();
    markCachedEntry(value);
    const bodies = new KeptBesideEntries<string>();
    const others = new KeptBesideEntries<number>();
    bodies.keep(value, 'body');
    assert.equal(bodies.get(value), 'body');
    assert.equal(others.get(value), undefined);
    others.keep(value, 42);
    assert.equal(others.get(value), 42);
    assert.equal(bodies.get(value), undefined);
  });

  it('keeps nothing beside an object the cache did not store, even one with a slot', () => {
    const bodies = new KeptBesideEntries<string>();
    const plain = answer();
    bodies.keep(plain, 'body');
    assert.equal(bodies.get(plain), undefined);
    const slotted = withEntrySlot(answer());
    bodies.keep(slotted, 'body');
    assert.equal(bodies.get(slotted), undefined);
  });

  it('keeps a thing as long as its object: a new load (a new object) starts empty', () => {
    const bodies = new KeptBesideEntries<string>();
    const first = answer();
    markCachedEntry(first);
    bodies.keep(first, 'first body');
    const reloaded = answer();
    markCachedEntry(reloaded);
    assert.equal(bodies.get(reloaded), undefined);
    assert.equal(bodies.get(first), 'first body');
  });
});
