import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ApiError } from '../api/errors.js';
import { formatBytes } from '../lib/text.js';

/**
 * One budget for the bytes of every answer the process is reading at once (Prometheus, upstreams,
 * AWS, the kube API): each reader's own limit bounds one answer, but four 30 MiB Prometheus
 * answers, or 64 upstream answers of 7.5 MiB, read at the same time took the heap past its limit.
 * A read takes bytes as they arrive and gives them back once it and its caller's decoding are
 * done; past the budget it waits (paused, so TCP holds the rest back) for up to `waitMs` as other
 * reads finish, then fails with ResponseBudgetError, a 503 naming the budget.
 */
export interface ResponseBudgetOptions {
  maxBytes: number;
  /** How long a read past the budget waits for room. */
  waitMs: number;
  /** Shows it as hpa_metrics_adapter_response_bytes_in_flight, _budget_bytes and _budget_refusals_total. */
  registry?: Registry;
}

/** A read that did not fit the budget in time. */
export class ResponseBudgetError extends ApiError {
  constructor(maxBytes: number, waitMs: number) {
    super(
      'ServiceUnavailable',
      `the adapter is already reading ${formatBytes(maxBytes)} of backend answers (--max-response-bytes-in-flight), and no room was made within ${waitMs} ms; the answer was dropped`,
      { retryAfterSeconds: 1 },
    );
  }
}

/**
 * The default: a tenth of the V8 heap limit (36 MiB under the Deployment's
 * --max-old-space-size=320). A JSON answer decoded into objects takes several times its size in
 * heap, so a tenth keeps the answers read at once, decoded, within the heap; never less than the
 * largest single answer a reader accepts by default, which would otherwise never fit.
 */
export function defaultResponseBudgetBytes(largestAnswerBytes: number): number {
  const mib = 1024 * 1024;
  return Math.max(largestAnswerBytes, Math.floor(getHeapStatistics().heap_size_limit / 10 / mib) * mib);
}

/** The default bound of one answer (io/bounded-body.ts's DEFAULT_MAX_RESPONSE_BYTES). */
export const LARGEST_DEFAULT_ANSWER_BYTES = 32 * 1024 * 1024;

/** How long a read past the budget waits for room before it is refused. */
export const RESPONSE_BUDGET_WAIT_MS = 1000;

interface Waiter {
  bytes: number;
  resolve(): void;
  timer: NodeJS.Timeout;
}

export class ResponseBudget {
  private held = 0;
  private readonly waiters: Waiter[] = [];
  private readonly refusals: Counter | undefined;

  constructor(private readonly options: ResponseBudgetOptions) {
    const registry = options.registry;
    if (registry) {
      const budget = this;
      new Gauge({
        name: 'hpa_metrics_adapter_response_bytes_in_flight',
        help: 'Bytes of backend answers (Prometheus, upstreams, AWS, kube API) being read or decoded right now.',
        registers: [registry],
        collect() {
          this.set(budget.held);
        },
      });
      new Gauge({
        name: 'hpa_metrics_adapter_response_budget_bytes',
        help: 'The most bytes of backend answers read at once (--max-response-bytes-in-flight).',
        registers: [registry],
      }).set(options.maxBytes);
      this.refusals = new Counter({
        name: 'hpa_metrics_adapter_response_budget_refusals_total',
        help: 'Backend answers dropped because the response-byte budget had no room for them in time (answered 503).',
        registers: [registry],
      });
    }
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** Bytes taken and not given back. */
  get bytesInFlight(): number {
    return this.held;
  }

  /** Takes `bytes` if they fit now and nobody waits before them. */
  tryTake(bytes: number): boolean {
    if (this.waiters.length > 0 || this.held + bytes > this.options.maxBytes) return false;
    this.held += bytes;
    return true;
  }

  /**
   * Takes `bytes`, waiting in line for up to `waitMs`; rejects with ResponseBudgetError after
   * that, or at once when they could never fit.
   */
  take(bytes: number): Promise<void> {
    if (this.tryTake(bytes)) return Promise.resolve();
    if (bytes > this.options.maxBytes) return Promise.reject(this.refuse());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(this.refuse());
          this.wakeWaiters();
        }, this.options.waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Gives back bytes taken before. */
  give(bytes: number): void {
    this.held -= bytes;
    this.wakeWaiters();
  }

  /** Waiters are served in order, so a large read is not starved by small ones passing it. */
  private wakeWaiters(): void {
    for (let first = this.waiters[0]; first; first = this.waiters[0]) {
      if (this.held + first.bytes > this.options.maxBytes) return;
      this.waiters.shift();
      clearTimeout(first.timer);
      this.held += first.bytes;
      first.resolve();
    }
  }

  private refuse(): ResponseBudgetError {
    this.refusals?.inc();
    return new ResponseBudgetError(this.options.maxBytes, this.options.waitMs);
  }
}

let processBudget: ResponseBudget | undefined;

/**
 * The budget every body reader of the process shares (io/bounded-body.ts): the one main set from
 * --max-response-bytes-in-flight, else the default, made on first use.
 */
export function processResponseBudget(): ResponseBudget {
  processBudget ??= new ResponseBudget({
    maxBytes: defaultResponseBudgetBytes(LARGEST_DEFAULT_ANSWER_BYTES),
    waitMs: RESPONSE_BUDGET_WAIT_MS,
  });
  return processBudget;
}

/**
 * Sets the process's budget at start: `maxBytes` from --max-response-bytes-in-flight (undefined:
 * the default), shown in `registry`. Reads already running give their bytes back to the old one.
 */
export function configureProcessResponseBudget(maxBytes: number | undefined, registry: Registry): ResponseBudget {
  processBudget = new ResponseBudget({
    maxBytes: maxBytes ?? defaultResponseBudgetBytes(LARGEST_DEFAULT_ANSWER_BYTES),
    waitMs: RESPONSE_BUDGET_WAIT_MS,
    registry,
  });
  return processBudget;
}
