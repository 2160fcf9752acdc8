import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { limitStream, readBoundedText } from '../../src/io/bounded-body.js';
import { ResponseBudget, ResponseBudgetError } from '../../src/io/response-budget.js';

const KIB = 1024;
const MIB = 1024 * KIB;

/** A body arriving in pieces, as an HTTP response does; `headers` as IncomingMessage has them. */
function body(headers: Record<string, string> = {}): PassThrough & { headers: Record<string, string> } {
  return Object.assign(new PassThrough(), { headers });
}

const nextTurn = () => new Promise((r) => setImmediate(r));

describe('the process-wide response budget', () => {
  it('lets a read past the budget wait for room, and refuses it with a 503 naming the flag once the wait is over', async () => {
    const registry = new Registry();
    const budget = new ResponseBudget({ maxBytes: MIB, waitMs: 100, registry });
    const first = body();
    const reading = readBoundedText(first, 32 * MIB, budget);
    first.write(Buffer.alloc(700 * KIB, 'a'));
    await nextTurn();
    assert.equal(budget.bytesInFlight, 700 * KIB);

    const second = body();
    const refused = readBoundedText(second, 32 * MIB, budget);
    second.write(Buffer.alloc(700 * KIB, 'b'));
    await assert.rejects(refused, (error) => {
      assert.ok(error instanceof ResponseBudgetError);
      assert.equal(error.code, 503);
      assert.match(error.message, /already reading 1 MiB of backend answers \(--max-response-bytes-in-flight\)/);
      return true;
    });
    assert.ok(second.destroyed, 'the refused answer is no longer read');
    first.end();
    assert.equal((await reading).length, 700 * KIB);
    assert.match(await registry.metrics(), /hpa_metrics_adapter_response_budget_refusals_total 1/);
  });

  it('gives a waiting read its turn when an earlier one finishes', async () => {
    const budget = new ResponseBudget({ maxBytes: MIB, waitMs: 5000 });
    const first = body();
    const firstText = readBoundedText(first, 32 * MIB, budget);
    first.write(Buffer.alloc(700 * KIB, 'a'));
    await nextTurn();
    const second = body({ 'content-length': String(700 * KIB) });
    const secondText = readBoundedText(second, 32 * MIB, budget);
    second.end(Buffer.alloc(700 * KIB, 'b'));
    await nextTurn();
    assert.equal(budget.bytesInFlight, 700 * KIB, 'the second waits: its declared length does not fit');
    first.end();
    await firstText;
    assert.equal((await secondText).length, 700 * KIB);
  });

  it('keeps the bytes counted through the turn in which the caller decodes them', async () => {
    const budget = new ResponseBudget({ maxBytes: MIB, waitMs: 100 });
    const stream = body();
    const text = readBoundedText(stream, 32 * MIB, budget);
    stream.end(Buffer.from('{"items":[1,2,3]}'));
    const parsed = JSON.parse(await text);
    assert.deepEqual(parsed, { items: [1, 2, 3] });
    assert.equal(budget.bytesInFlight, 17, 'still counted while the caller decodes');
    await nextTurn();
    assert.equal(budget.bytesInFlight, 0, 'given back once that turn is over');
  });

  it('refuses at once an answer whose Content-Length could never fit, and gives back what a failed read took', async () => {
    const budget = new ResponseBudget({ maxBytes: MIB, waitMs: 5000 });
    await assert.rejects(
      readBoundedText(body({ 'content-length': String(2 * MIB) }), 32 * MIB, budget),
      ResponseBudgetError,
    );
    const cut = body();
    const reading = readBoundedText(cut, 32 * MIB, budget);
    cut.write(Buffer.alloc(300 * KIB));
    await nextTurn();
    cut.destroy(new Error('connection reset'));
    await assert.rejects(reading, /connection reset/);
    assert.equal(budget.bytesInFlight, 0);
  });

  it('counts what passes through limitStream (the AWS SDK reads its bodies) until the stream closed', async () => {
    const budget = new ResponseBudget({ maxBytes: MIB, waitMs: 100 });
    const limited = limitStream(32 * MIB, budget);
    limited.resume();
    limited.write(Buffer.alloc(600 * KIB));
    await nextTurn();
    assert.equal(budget.bytesInFlight, 600 * KIB);
    const failed = new Promise((resolve) => limited.once('error', resolve));
    const closed = new Promise((resolve) => limited.once('close', resolve));
    limited.write(Buffer.alloc(600 * KIB));
    assert.ok((await failed) instanceof ResponseBudgetError);
    await closed;
    await nextTurn();
    assert.equal(budget.bytesInFlight, 0);
  });
});
