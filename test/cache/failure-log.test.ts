import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { FakeBackend, makeCache, patient } from './fakes.js';

/**
 * A failing backend is logged, but not once per failed load: with the backend down every request
 * for a key not cached logged a warning (2,000 requests, 2,000 lines), and every kept value's
 * background retry one more. A few lines a minute get through; the next one counts the rest.
 */
describe('QueryCache load-failure warnings', () => {
  it('logs a few per minute, then the count of those left out', async () => {
    const { logger, lines } = capturingLogger();
    const { cache, clock } = makeCache({}, { logger });
    const backend = new FakeBackend(() => 1).fails(ApiError.unavailable('prometheus is down'));
    const failures = () => lines.filter((line) => String(line.msg).startsWith('backend load failed'));

    for (let i = 0; i < 300; i++) await assert.rejects(cache.fetch(`q-${i}`, backend.load, patient()));
    assert.equal(backend.calls, 300);
    const first = failures().length;
    assert.ok(first >= 1 && first <= 10, `${first} lines logged for 300 failed loads`);

    clock.advance(60_000);
    await assert.rejects(cache.fetch('q-next', backend.load, patient()));
    assert.equal(failures().length, first + 1);
    assert.equal(failures().at(-1)?.suppressedSinceLastLogged, 300 - first);
  });
});
