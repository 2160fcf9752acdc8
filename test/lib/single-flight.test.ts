import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { TimeoutDeadline } from '../../src/lib/deadline.js';
import { SingleFlight } from '../../src/lib/single-flight.js';

/** A load the test settles by hand; it records every start and the signal each got. */
class HeldLoads<V> {
  readonly signals: AbortSignal[] = [];
  private readonly pending: { resolve: (value: V) => void; reject: (error: unknown) => void }[] = [];

  get starts(): number {
    return this.signals.length;
  }

  readonly load = (signal: AbortSignal): Promise<V> => {
    this.signals.push(signal);
    return new Promise<V>((resolve, reject) => this.pending.push({ resolve, reject }));
  };

  resolve(index: number, value: V): void {
    this.pending[index]?.resolve(value);
  }

  reject(index: number, error: unknown): void {
    this.pending[index]?.reject(error);
  }
}

/** Lets every queued promise reaction run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SingleFlight: one load per key', () => {
  it('runs one load for 100 concurrent callers of a key, and gives each its value', async () => {
    const flights = new SingleFlight<{ n: number }>();
    const loads = new HeldLoads<{ n: number }>();
    const callers = Array.from({ length: 100 }, () => flights.run('k', loads.load));
    assert.equal(loads.starts, 1);
    assert.equal(flights.size, 1);
    loads.resolve(0, { n: 7 });
    const values = await Promise.all(callers);
    assert.ok(
      values.every((value) => value === values[0]),
      'every caller gets the same object',
    );
    assert.deepEqual(values[0], { n: 7 });
    assert.equal(flights.size, 0, 'the key is free once the load settled');
  });

  it('keeps keys apart', () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    void flights.run('a', loads.load);
    void flights.run('b', loads.load);
    void flights.run('a', loads.load);
    assert.equal(loads.starts, 2);
    assert.deepEqual([flights.has('a'), flights.has('b'), flights.has('c')], [true, true, false]);
  });

  it('gives every caller the rejection of the one failed load, and does not remember it', async () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    const refused = new Error('review failed');
    const callers = Array.from({ length: 10 }, () => flights.run('k', loads.load));
    loads.reject(0, refused);
    for (const outcome of await Promise.allSettled(callers)) {
      assert.deepEqual(outcome, { status: 'rejected', reason: refused });
    }
    const again = flights.run('k', loads.load);
    assert.equal(loads.starts, 2, 'the next caller starts a new load');
    loads.resolve(1, 3);
    assert.equal(await again, 3);
  });

  it('rejects the callers of a load that throws before it returns a promise', async () => {
    const flights = new SingleFlight<number>();
    const broken = (): Promise<number> => {
      throw new Error('no client');
    };
    await assert.rejects(flights.run('k', broken), { message: 'no client' });
    assert.equal(flights.size, 0);
  });

  it('leaves no unhandled rejection when a load nobody waits for fails', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const flights = new SingleFlight<number>();
      const loads = new HeldLoads<number>();
      flights.start('k', loads.load);
      loads.reject(0, new Error('background refresh failed'));
      await settle();
      await settle();
      assert.deepEqual(unhandled, []);
      assert.equal(flights.size, 0);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});

describe('SingleFlight: callers leave on their own signal', () => {
  it('rejects only the caller whose signal aborts, with its reason; the load goes on for the others', async () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    const impatient = new AbortController();
    const leaving = flights.run('k', loads.load, impatient.signal);
    const staying = flights.run('k', loads.load, new AbortController().signal);
    const unsignalled = flights.run('k', loads.load);
    impatient.abort(new Error('client went away'));
    await assert.rejects(leaving, { message: 'client went away' });
    assert.equal(loads.signals[0]?.aborted, false);
    loads.resolve(0, 5);
    assert.deepEqual(await Promise.all([staying, unsignalled]), [5, 5]);
    assert.equal(loads.starts, 1);
  });

  it('rejects a caller whose signal has already aborted, without waiting for the load', async () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    void flights.run('k', loads.load);
    await assert.rejects(flights.run('k', loads.load, AbortSignal.abort(new Error('already gone'))), {
      message: 'already gone',
    });
    assert.equal(loads.starts, 1);
  });

  it('removes its abort listener from a caller signal once the caller is answered', async () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    const signal = new AbortController().signal;
    const answer = flights.run('k', loads.load, signal);
    assert.equal(getEventListeners(signal, 'abort').length, 1);
    loads.resolve(0, 1);
    await answer;
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });
});

describe("SingleFlight: a load nobody waits for ('abort', the default)", () => {
  it('aborts the load once its last caller has left, and frees the key for a new load at once', async () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    const first = new AbortController();
    const second = new AbortController();
    const callers = [flights.run('k', loads.load, first.signal), flights.run('k', loads.load, second.signal)];
    first.abort(new Error('first left'));
    assert.equal(loads.signals[0]?.aborted, false, 'one caller still waits');
    second.abort(new Error('second left'));
    await Promise.allSettled(callers);
    assert.equal(loads.signals[0]?.aborted, true);
    assert.equal((loads.signals[0]?.reason as Error | undefined)?.name, 'AbortError');
    assert.equal(flights.size, 0);

    const next = flights.run('k', loads.load);
    assert.equal(loads.starts, 2);
    loads.resolve(0, 1);
    await settle();
    assert.equal(flights.has('k'), true, 'the abandoned load settling late does not free the new one');
    loads.resolve(1, 2);
    assert.equal(await next, 2);
  });

  it('runs a load started with no caller (a background refresh) until a caller joins it and leaves', async () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    flights.start('k', loads.load);
    await settle();
    assert.equal(loads.signals[0]?.aborted, false);
    const caller = new AbortController();
    const joined = flights.get('k')?.wait(caller.signal);
    caller.abort(new Error('left'));
    await assert.rejects(joined as Promise<number>, { message: 'left' });
    assert.equal(loads.signals[0]?.aborted, true);
  });

  it('abortAll stops every load and rejects every caller with the reason', async () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    const shutdown = new Error('shutting down');
    const callers = [flights.run('a', loads.load), flights.run('b', loads.load)];
    flights.abortAll(shutdown);
    for (const outcome of await Promise.allSettled(callers)) {
      assert.deepEqual(outcome, { status: 'rejected', reason: shutdown });
    }
    assert.deepEqual(
      loads.signals.map((signal) => signal.reason),
      [shutdown, shutdown],
    );
    assert.equal(flights.size, 0);
  });
});

describe("SingleFlight: a load that finishes without callers ('finish')", () => {
  it('runs on when every caller has left, and the next caller joins it instead of starting another', async () => {
    const flights = new SingleFlight<string>({ abandoned: 'finish' });
    const loads = new HeldLoads<string>();
    const caller = new AbortController();
    const leaving = flights.run('k', loads.load, caller.signal);
    caller.abort(new Error('left'));
    await assert.rejects(leaving, { message: 'left' });
    assert.equal(loads.signals[0]?.aborted, false);
    const next = flights.run('k', loads.load);
    assert.equal(loads.starts, 1);
    loads.resolve(0, 'url');
    assert.equal(await next, 'url');
  });
});

describe('SingleFlight and deadlines (TimeoutDeadline)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('a caller whose deadline passes leaves with the timeout; a caller with a later deadline still gets the value', async () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    const short = new TimeoutDeadline(100, undefined);
    const long = new TimeoutDeadline(1_000, undefined);
    const early = flights.run('k', loads.load, short.signal);
    const late = flights.run('k', loads.load, long.signal);

    mock.timers.tick(100);
    await assert.rejects(early, { message: 'timed out after 100 ms' });
    assert.equal(short.expired, true);
    assert.equal(loads.signals[0]?.aborted, false, 'the load outlives the first deadline');

    loads.resolve(0, 4);
    assert.equal(await late, 4);
    assert.equal(long.expired, false);
    short.dispose();
    long.dispose();
  });

  it('the load is aborted when the last deadline passes, and the deadline that fired is the callers’ reason', async () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    const request = new AbortController();
    const deadline = new TimeoutDeadline(200, request.signal);
    const waiting = flights.run('k', loads.load, deadline.signal);

    mock.timers.tick(200);
    await assert.rejects(waiting, { message: 'timed out after 200 ms' });
    assert.equal(loads.signals[0]?.aborted, true);
    assert.equal(flights.size, 0);
    deadline.dispose();
  });

  it("a caller's own cancellation reaches it through its deadline before the timeout", async () => {
    const flights = new SingleFlight<number>();
    const loads = new HeldLoads<number>();
    const request = new AbortController();
    const deadline = new TimeoutDeadline(1_000, request.signal);
    const waiting = flights.run('k', loads.load, deadline.signal);
    request.abort(new Error('client closed the connection'));
    await assert.rejects(waiting, { message: 'client closed the connection' });
    assert.equal(deadline.expired, false);
    deadline.dispose();
  });
});
