import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capturingLogger } from '../support/capturing-logger.js';
import { FakeBackend, makeCache, patient } from './fakes.js';

/**
 * An answer too large to cache is logged, but not once per request: with a small budget every
 * request for such an answer logged a warning, so a flood of them flooded the log (600 requests,
 * 600 lines). Like client errors, a few lines per minute get through and the next one counts the rest.
 */
describe('QueryCache oversize warnings', () => {
  it('logs a few per minute, then the count of those left out', async () => {
    const { logger, lines } = capturingLogger();
    const { cache, clock } = makeCache({ maxBytes: 1_000 }, { logger });
    const huge = Array.from({ length: 1_000 }, (_, i) => ({ pod: `web-${i}`, value: i }));
    const backend = new FakeBackend(() => huge);
    const oversize = () => lines.filter((line) => String(line.msg).startsWith('backend answer larger than'));

    for (let i = 0; i < 500; i++) await cache.fetch(`q-${i}`, backend.load, patient());
    assert.equal(backend.calls, 500, 'each answer still reaches its caller');
    const first = oversize().length;
    assert.ok(first >= 1 && first <= 10, `${first} lines logged for 500 oversize answers`);

    clock.advance(60_000);
    await cache.fetch('q-next', backend.load, patient());
    const last = oversize().at(-1);
    assert.equal(oversize().length, first + 1);
    assert.equal(last?.suppressedSinceLastLogged, 500 - first);
  });
});
