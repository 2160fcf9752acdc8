import { Counter, Gauge, type Registry } from 'prom-client';
import { ApiError } from '../api/errors.js';
import { perRegistry } from '../lib/per-registry.js';

/**
 * A bound on concurrent work against one dependency (a backend, the SubjectAccessReview API):
 * at most `maxConcurrent` tasks run, at most `maxQueued` wait in order; beyond that a task is
 * refused at once with 429 TooManyRequests and a Retry-After, and counted. Without it a flood
 * of distinct keys became as many concurrent backend queries (121,399 Prometheus queries and
 * 122,946 SubjectAccessReviews in 60 s), pushing the overload onto the dependency.
 *
 * Callers put only real loads through it: cached answers never wait here.
 */
export interface LimiterOptions {
  /** Names the dependency in messages: `prometheus backend`. */
  name: string;
  /** The `limiter` label of its metrics: `prometheus`. Default: the name. */
  label?: string;
  maxConcurrent: number;
  maxQueued: number;
  /** What the refusal tells clients to wait. Default 1 s. */
  retryAfterSeconds?: number;
  registry?: Registry;
}

export interface Limiter {
  /** Runs `task` when a slot is free; rejects with 429 when the queue is full, or with the signal's reason when aborted while queued. */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  stats(): { running: number; queued: number };
  /**
   * Takes its running/queued series out of the registry once no other open limiter has its label:
   * a cache closed for good (a definitions TTL no longer used) leaves no series behind.
   */
  close(): void;
}

/** The refusal: 429 with Retry-After, never to be turned into a 503 by a cache in between. */
export class Overloaded extends ApiError {
  constructor(message: string, retryAfterSeconds: number) {
    super('TooManyRequests', message, { retryAfterSeconds });
  }
}

interface Waiter {
  start(): void;
}

export function createLimiter(options: LimiterOptions): Limiter {
  const registered = options.registry ? limiterMetrics(options.registry) : undefined;
  // Set to undefined by close(): a load released after it sets no series again.
  let metrics = registered;
  const label = { limiter: options.label ?? options.name };
  registered?.open.set(label.limiter, (registered.open.get(label.limiter) ?? 0) + 1);
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  let running = 0;
  const queue: Waiter[] = [];

  const release = () => {
    running--;
    const next = queue.shift();
    if (next) {
      running++;
      next.start();
    }
    metrics?.running.set(label, running);
    metrics?.queued.set(label, queue.length);
  };

  return {
    async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) throw signal.reason;
      if (running < options.maxConcurrent) {
        running++;
        metrics?.running.set(label, running);
      } else {
        if (queue.length >= options.maxQueued) {
          metrics?.rejected.inc(label);
          throw new Overloaded(
            `${options.name}: too many requests at once (${options.maxConcurrent} running, ${options.maxQueued} waiting); retry after ${retryAfterSeconds}s`,
            retryAfterSeconds,
          );
        }
        await new Promise<void>((resolve, reject) => {
          const waiter: Waiter = {
            start: () => {
              signal?.removeEventListener('abort', onAbort);
              resolve();
            },
          };
          const onAbort = () => {
            const at = queue.indexOf(waiter);
            if (at >= 0) queue.splice(at, 1);
            metrics?.queued.set(label, queue.length);
            reject(signal?.reason);
          };
          signal?.addEventListener('abort', onAbort, { once: true });
          queue.push(waiter);
          metrics?.queued.set(label, queue.length);
        });
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
    stats: () => ({ running, queued: queue.length }),
    close() {
      if (!metrics) return;
      const { open } = metrics;
      const left = (open.get(label.limiter) ?? 1) - 1;
      if (left > 0) open.set(label.limiter, left);
      else {
        open.delete(label.limiter);
        metrics.running.remove(label);
        metrics.queued.remove(label);
      }
      metrics = undefined;
    },
  };
}

interface LimiterMetrics {
  running: Gauge<'limiter'>;
  queued: Gauge<'limiter'>;
  rejected: Counter<'limiter'>;
  /** Open limiters by label: a reloaded backend's new cache shares its old one's series. */
  open: Map<string, number>;
}

const limiterMetrics = perRegistry(
  (registry): LimiterMetrics => ({
    running: new Gauge({
      name: 'hpa_metrics_adapter_limiter_running',
      help: 'Backend loads (or SubjectAccessReviews) running now, by limiter.',
      labelNames: ['limiter'],
      registers: [registry],
    }),
    queued: new Gauge({
      name: 'hpa_metrics_adapter_limiter_queued',
      help: 'Backend loads (or SubjectAccessReviews) waiting for a slot, by limiter.',
      labelNames: ['limiter'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'hpa_metrics_adapter_limiter_rejected_total',
      help: 'Requests refused with 429 because the limiter was running and queueing all it may, by limiter.',
      labelNames: ['limiter'],
      registers: [registry],
    }),
    open: new Map(),
  }),
);
