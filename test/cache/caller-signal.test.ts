import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeBackend, makeCache, settle } from './fakes.js';

/** A provider request whose signal, like the HTTP layer's RequestDeadline, is made when first read. */
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

describe('QueryCache and the caller signal', () => {
  it('never reads the signal of a caller answered from the cache', async () => {
    const { cache, clock } = makeCache({ ttlMs: 15_000, refreshAheadRatio: 0.2 });
    const backend = new FakeBackend(() => 'v');
    const first = lazyCaller();
    assert.equal(await cache.fetch('q', backend.load, first), 'v');
    assert.equal(first.reads, 1, 'a miss waits, so it needs the signal');

    const hit = lazyCaller();
    assert.equal(await cache.fetch('q', backend.load, hit), 'v');
    clock.advance(13_000);
    assert.equal(await cache.fetch('q', backend.load, hit), 'v', 'a hit that starts a refresh-ahead');
    await settle();
    assert.equal(backend.calls, 2);
    assert.equal(hit.reads, 0);
  });

  it('releases a waiting caller whose lazily read signal aborts', async () => {
    const { cache } = makeCache();
    const backend = new FakeBackend(() => 'v').holds();
    const caller = lazyCaller();
    const answer = cache.fetch('q', backend.load, caller);
    await settle();
    caller.abort();
    await assert.rejects(answer, /caller gave up/);
    assert.equal(caller.reads, 1);
  });
});
