import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCachedEntry } from '../../src/cache/entry-identity.js';
import { FakeBackend, makeCache, patient, settle } from './fakes.js';

/** A Deadline whose signal, like the HTTP layer's RequestDeadline, is made when first read. */
function lazyCaller(): { readonly signal: AbortSignal; reads: number; abort(): void } {
  const controller = new AbortController();
  return {
    reads: 0,
    get signal() {
      this.reads += 1;
      return controller.signal;
    },
    abort: () => controller.abort(new Error('caller gave up')),
  };
}

describe('QueryCache and the caller deadline', () => {
  it('never reads the signal of a caller answered from the cache', async () => {
    const { cache, clock } = makeCache({ ttlMs: 15_000, refreshAheadRatio: 0.2 });
    const backend = new FakeBackend(() => 'v');
    const first = lazyCaller();
    assert.equal(await cache.fetch('q', backend.load, { deadline: first }), 'v');
    assert.equal(first.reads, 1, 'a miss waits, so it needs the signal');

    const hit = lazyCaller();
    assert.equal(await cache.fetch('q', backend.load, { deadline: hit }), 'v');
    clock.advance(13_000);
    assert.equal(await cache.fetch('q', backend.load, { deadline: hit }), 'v', 'a hit that starts a refresh-ahead');
    await settle();
    assert.equal(backend.calls, 2);
    assert.equal(hit.reads, 0);
  });

  it('releases a waiting caller whose lazily read signal aborts', async () => {
    const { cache } = makeCache();
    const backend = new FakeBackend(() => 'v').holds();
    const caller = lazyCaller();
    const answer = cache.fetch('q', backend.load, { deadline: caller });
    await settle();
    caller.abort();
    await assert.rejects(answer, /caller gave up/);
    assert.equal(caller.reads, 1);
  });
});

describe('QueryCache entry identity', () => {
  it('marks the value it stores, and the elements of a stored array, as cached entries', async () => {
    const { cache } = makeCache();
    const element = { value: 1 };
    const stored = [element, 2];
    const backend = new FakeBackend(() => stored);
    const answer = await cache.fetch('q', backend.load, patient());
    assert.equal(answer, stored);
    assert.equal(isCachedEntry(stored), true);
    assert.equal(isCachedEntry(element), true);
    assert.equal(isCachedEntry([element, 2]), false, 'an equal array built elsewhere is not the entry');
  });

  it('a refresh stores a new object, marked in turn; an object never stored is not marked', async () => {
    const { cache, clock } = makeCache({ ttlMs: 1_000 });
    let version = 0;
    const backend = new FakeBackend(() => ({ version: ++version }));
    const first = await cache.fetch('q', backend.load, patient());
    clock.advance(1_000);
    const second = await cache.fetch('q', backend.load, patient());
    assert.notEqual(second, first);
    assert.equal(isCachedEntry(second), true);
    assert.equal(isCachedEntry({ version: 2 }), false);
  });
});
