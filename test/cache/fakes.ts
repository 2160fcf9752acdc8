import { Histogram, Registry } from 'prom-client';
import type { CacheBudget } from '../../src/cache/cache-budget.js';
import { createQueryCache, type OwnedQueryCache } from '../../src/cache/lru-query-cache.js';
import type { CacheCaller, CacheSettings } from '../../src/cache/query-cache.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import type { Logger } from '../../src/observability/logger.js';

export const START = Date.parse('2026-01-01T00:00:00Z');

/** A clock that moves only when the test says so. */
export class FakeClock {
  private ms = START;
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

type Mode<T> = { kind: 'answer'; value: (call: number) => T } | { kind: 'fail'; error: unknown } | { kind: 'hold' };

/**
 * A backend double that counts its loads. It answers, fails, or holds every load until the test
 * releases it, so a test can observe who waits on what.
 */
export class FakeBackend<T> {
  calls = 0;
  readonly signals: AbortSignal[] = [];
  private mode: Mode<T>;
  private held: { resolve: (value: T) => void; reject: (error: unknown) => void }[] = [];

  constructor(value: (call: number) => T) {
    this.mode = { kind: 'answer', value };
  }

  answers(value: (call: number) => T): this {
    this.mode = { kind: 'answer', value };
    return this;
  }

  fails(error: unknown): this {
    this.mode = { kind: 'fail', error };
    return this;
  }

  holds(): this {
    this.mode = { kind: 'hold' };
    return this;
  }

  readonly load = (signal: AbortSignal): Promise<T> => {
    this.calls += 1;
    this.signals.push(signal);
    const mode = this.mode;
    if (mode.kind === 'answer') return Promise.resolve(mode.value(this.calls));
    if (mode.kind === 'fail') return Promise.reject(mode.error);
    return new Promise<T>((resolve, reject) => this.held.push({ resolve, reject }));
  };

  release(value: T): void {
    for (const load of this.held.splice(0)) load.resolve(value);
  }

  releaseWithError(error: unknown): void {
    for (const load of this.held.splice(0)) load.reject(error);
  }
}

export const TEST_SETTINGS: CacheSettings = {
  ttlMs: 15_000,
  maxStaleMs: 120_000,
  negativeTtlMs: 5_000,
  maxEntries: 10_000,
  refreshAheadRatio: 0,
};

export function makeCache(
  settings: Partial<CacheSettings> = {},
  options: {
    sizeOf?: (value: unknown) => number;
    registry?: Registry;
    backend?: string;
    budget?: CacheBudget;
    clock?: FakeClock;
    logger?: Logger;
  } = {},
): { cache: OwnedQueryCache; clock: FakeClock; registry: Registry } {
  const clock = options.clock ?? new FakeClock();
  const registry = options.registry ?? new Registry();
  const cache = createQueryCache(
    options.backend ?? 'prometheus',
    { ...TEST_SETTINGS, ...settings },
    { registry, now: clock.now, sizeOf: options.sizeOf, budget: options.budget, logger: options.logger },
  );
  return { cache, clock, registry };
}

/** A caller that never gives up. */
export function patient(): CacheCaller {
  return callerOf(new AbortController().signal);
}

/** A caller whose deadline is `signal`. */
export function callerOf(signal: AbortSignal): CacheCaller {
  return { deadline: deadlineOf(signal) };
}

/** The value of one labelled series of a counter or gauge; 0 when the series does not exist yet. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  const found = values.find((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  return found?.value ?? 0;
}

/** count and sum of one labelled histogram series. */
export async function histogram(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<{ count: number; sum: number }> {
  const metric = registry.getSingleMetric(name);
  if (!(metric instanceof Histogram)) throw new Error(`histogram ${name} is not registered`);
  const { values } = await metric.get();
  const pick = (suffix: string): number =>
    values.find(
      (sample) =>
        sample.metricName === `${name}${suffix}` &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )?.value ?? 0;
  return { count: pick('_count'), sum: pick('_sum') };
}

/** Lets pending promise callbacks run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether `promise` has settled once pending callbacks have run, without waiting for it. */
export async function stateOf(promise: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  promise.then(
    () => {
      state = 'fulfilled';
    },
    () => {
      state = 'rejected';
    },
  );
  await settle();
  return state;
}
