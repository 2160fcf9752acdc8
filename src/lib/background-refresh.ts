import { sharedStopController } from './stop-signal.js';

/** How a refresh waits between runs; tests pass a clock they move by hand. */
export interface RefreshTimers {
  set(run: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

/** Node's timers, unref'd: a background refresh never keeps the process alive. */
export const NODE_TIMERS: RefreshTimers = {
  set: (run, delayMs) => setTimeout(run, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface BackgroundRefreshOptions<T> {
  /** One run. It rejects when it failed; `signal` aborts at close(). */
  run: (signal: AbortSignal) => Promise<T>;
  intervalMs: number;
  /** After a failed (or incomplete) run the next one comes this soon, when sooner than `intervalMs`. Default: `intervalMs`. */
  retryAfterFailureMs?: number;
  /** Whether a result is whole; one that is not is kept as the latest, and retried as a failure is. Default: always. */
  complete?: (result: T) => boolean;
  /** Told of every failed run that start() or the timer made (refresh() rejects instead); not called once closing. */
  onFailure?: (error: unknown) => void;
  /** Why runs in flight abort at close(). */
  closeReason?: string;
  timers?: RefreshTimers;
}

/**
 * A refresh that runs in the background and keeps its last good result: the one mechanism behind
 * Prometheus series discovery, the cluster's resource names, upstream discovery and the SQS
 * prefix listings (test/lib/background-refresh.test.ts).
 *
 * - The next run is timed from the end of the last one (a chained timer, never an interval), and
 *   every run, timed or asked for with refresh(), waits for the one in flight: runs never overlap,
 *   however slow the backend.
 * - A failed run leaves `latest` as it was; the next comes after `retryAfterFailureMs`.
 * - close() stops the timer, aborts the run in flight and resolves once it has ended.
 */
export class BackgroundRefresh<T> {
  private latestResult: T | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();
  private timer: unknown;
  private closed = false;
  // A run may fan out (every group-version, every seriesQuery), each call listening here.
  private readonly stopping = sharedStopController();
  private readonly timers: RefreshTimers;

  constructor(private readonly options: BackgroundRefreshOptions<T>) {
    this.timers = options.timers ?? NODE_TIMERS;
  }

  /** The result of the last run that did not fail; undefined before one has succeeded. */
  get latest(): T | undefined {
    return this.latestResult;
  }

  /** Aborts at close(): for work a run starts that should stop with it. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  /** The first run (a failure goes to onFailure), then one run per interval until close(). True when the first run was whole. */
  async start(): Promise<boolean> {
    const whole = await this.runReported();
    this.schedule(whole);
    return whole;
  }

  /** Runs every interval from now on, the first one interval from now: for a user whose first run was its own refresh(). */
  keepRefreshing(): void {
    this.schedule(true);
  }

  /** One run now, after the one in flight; rejects when it fails. Does not move the timer. */
  refresh(): Promise<T> {
    const run = this.inFlight.then(() => this.runOnce());
    this.inFlight = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timers.clear(this.timer);
    this.stopping.abort(new Error(this.options.closeReason ?? 'background refresh closed'));
    await this.inFlight;
  }

  private async runOnce(): Promise<T> {
    const result = await this.options.run(this.stopping.signal);
    this.latestResult = result;
    return result;
  }

  private async runReported(): Promise<boolean> {
    try {
      const result = await this.refresh();
      return this.options.complete?.(result) ?? true;
    } catch (error) {
      if (!this.stopping.signal.aborted) this.options.onFailure?.(error);
      return false;
    }
  }

  private schedule(lastWasWhole: boolean): void {
    if (this.closed) return;
    const { intervalMs, retryAfterFailureMs = intervalMs } = this.options;
    const delayMs = lastWasWhole ? intervalMs : Math.min(intervalMs, retryAfterFailureMs);
    this.timer = this.timers.set(() => {
      void this.runReported().then((whole) => this.schedule(whole));
    }, delayMs);
  }
}
