import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as settled } from 'node:timers/promises';
import { BackgroundRefresh, type RefreshTimers } from '../../src/lib/background-refresh.js';

/** A clock moved by hand: timers fire only in advance(). */
class ManualClock implements RefreshTimers {
  nowMs = 0;
  private pending = new Map<number, { at: number; run: () => void }>();
  private nextId = 0;

  set(run: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.nowMs + delayMs, run });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** When the one armed timer fires, relative to now; undefined when none is armed. */
  armedIn(): number | undefined {
    const [only, ...rest] = [...this.pending.values()];
    assert.equal(rest.length, 0, 'at most one timer is armed');
    return only && only.at - this.nowMs;
  }

  async advance(ms: number): Promise<void> {
    this.nowMs += ms;
    for (const [id, timer] of [...this.pending]) {
      if (timer.at > this.nowMs) continue;
      this.pending.delete(id);
      timer.run();
    }
    await settled();
  }
}

/** A run whose each call waits until the test ends it. */
function controlledRuns<T>() {
  const calls: { signal: AbortSignal; finish: (value: T) => void; fail: (error: Error) => void }[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const run = (signal: AbortSignal) =>
    new Promise<T>((resolve, reject) => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      const end = () => running--;
      calls.push({
        signal,
        finish: (value) => {
          end();
          resolve(value);
        },
        fail: (error) => {
          end();
          reject(error);
        },
      });
    });
  return { run, calls, mostAtOnce: () => mostAtOnce };
}

describe('BackgroundRefresh', () => {
  it('times the next run from the end of the last one, so a slow run is never overlapped', async () => {
    const clock = new ManualClock();
    const runs = controlledRuns<string>();
    const refresh = new BackgroundRefresh({ run: runs.run, intervalMs: 60_000, timers: clock });
    const started = refresh.start();
    await settled();
    assert.equal(runs.calls.length, 1);
    assert.equal(clock.armedIn(), undefined, 'no timer while the first run is in flight');
    runs.calls[0]?.finish('first');
    assert.equal(await started, true);
    assert.equal(refresh.latest, 'first');
    assert.equal(clock.armedIn(), 60_000);

    await clock.advance(60_000);
    assert.equal(runs.calls.length, 2);
    await clock.advance(10 * 60_000);
    assert.equal(runs.calls.length, 2, 'a run that takes ten intervals is not joined by another');
    const asked = refresh.refresh();
    await settled();
    assert.equal(runs.calls.length, 2, 'refresh() waits for the run in flight');
    runs.calls[1]?.finish('second');
    await settled();
    assert.equal(clock.armedIn(), 60_000, 'the next timed run counts from the end of this one');
    assert.equal(runs.calls.length, 3);
    runs.calls[2]?.finish('asked');
    assert.equal(await asked, 'asked');
    assert.equal(runs.mostAtOnce(), 1);
    await refresh.close();
  });

  it('keeps the last good result through a failure and retries sooner, as it does after an incomplete result', async () => {
    const clock = new ManualClock();
    const runs = controlledRuns<{ whole: boolean }>();
    const failures: unknown[] = [];
    const refresh = new BackgroundRefresh({
      run: runs.run,
      intervalMs: 60_000,
      retryAfterFailureMs: 5_000,
      complete: (result) => result.whole,
      onFailure: (error) => failures.push(error),
      timers: clock,
    });
    const started = refresh.start();
    await settled();
    const good = { whole: true };
    runs.calls[0]?.finish(good);
    await started;

    await clock.advance(60_000);
    runs.calls[1]?.fail(new Error('backend down'));
    await settled();
    assert.equal(refresh.latest, good, 'a failure keeps the last good result');
    assert.deepEqual(
      failures.map((e) => (e as Error).message),
      ['backend down'],
    );
    assert.equal(clock.armedIn(), 5_000, 'retried sooner after a failure');

    await clock.advance(5_000);
    const partial = { whole: false };
    runs.calls[2]?.finish(partial);
    await settled();
    assert.equal(refresh.latest, partial, 'an incomplete result is the latest');
    assert.equal(clock.armedIn(), 5_000, 'and is retried as soon as a failure');

    await clock.advance(5_000);
    runs.calls[3]?.finish(good);
    await settled();
    assert.equal(clock.armedIn(), 60_000, 'back to the interval once whole');
    await assert.rejects(
      Promise.all([refresh.refresh(), settled().then(() => runs.calls[4]?.fail(new Error('asked and failed')))]),
      /asked and failed/,
    );
    assert.equal(failures.length, 1, 'refresh() rejects rather than reporting');
    assert.equal(refresh.latest, good);
    await refresh.close();
  });

  it('never retries later than the interval', async () => {
    const clock = new ManualClock();
    const refresh = new BackgroundRefresh({
      run: async () => {
        throw new Error('down');
      },
      intervalMs: 1_000,
      retryAfterFailureMs: 5_000,
      timers: clock,
    });
    assert.equal(await refresh.start(), false);
    assert.equal(clock.armedIn(), 1_000);
    await refresh.close();
  });

  it('close() aborts the run in flight, waits for it to end, and runs nothing more', async () => {
    const clock = new ManualClock();
    const runs = controlledRuns<string>();
    const failures: unknown[] = [];
    const refresh = new BackgroundRefresh({
      run: runs.run,
      intervalMs: 1_000,
      onFailure: (error) => failures.push(error),
      closeReason: 'listing closed',
      timers: clock,
    });
    const started = refresh.start();
    await settled();
    runs.calls[0]?.finish('first');
    await started;
    await clock.advance(1_000);
    const inFlight = runs.calls[1];
    assert.ok(inFlight);

    let closed = false;
    const closing = refresh.close().then(() => {
      closed = true;
    });
    await settled();
    assert.equal(inFlight.signal.aborted, true);
    assert.equal((inFlight.signal.reason as Error).message, 'listing closed');
    assert.equal(closed, false, 'close() waits for the run in flight');
    inFlight.fail(inFlight.signal.reason as Error);
    await closing;
    assert.equal(closed, true);
    assert.deepEqual(failures, [], 'a run aborted by close() is no failure to report');
    assert.equal(clock.armedIn(), undefined);
    await clock.advance(10_000);
    assert.equal(runs.calls.length, 2);
  });

  it('keepRefreshing() after a refresh() of its own runs first one interval later', async () => {
    const clock = new ManualClock();
    let runs = 0;
    const refresh = new BackgroundRefresh({ run: async () => ++runs, intervalMs: 30_000, timers: clock });
    assert.equal(await refresh.refresh(), 1);
    refresh.keepRefreshing();
    assert.equal(clock.armedIn(), 30_000);
    await clock.advance(30_000);
    assert.equal(runs, 2);
    assert.equal(refresh.latest, 2);
    await refresh.close();
  });
});
