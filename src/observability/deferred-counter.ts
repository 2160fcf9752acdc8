import { Counter, type CounterConfiguration, type LabelValues } from 'prom-client';

/** One label set of a DeferredCounter: `count` is added to the counter at its next collection. */
export interface DeferredSeries {
  count: number;
}

/**
 * A prom-client Counter counted on a hot path by plain additions: `series(labels)` hands out one
 * handle per label set, to be kept by the caller, and the handles' counts reach the counter each
 * time it is collected (every scrape, and every get()). prom-client's inc() validates and hashes
 * the labels on each call, about half a microsecond per request.
 */
export class DeferredCounter<T extends string> {
  readonly counter: Counter<T>;
  private readonly pending = new Map<string, { labels: LabelValues<T>; series: DeferredSeries }>();

  constructor(config: CounterConfiguration<T>) {
    const pending = this.pending;
    this.counter = new Counter({
      ...config,
      collect() {
        for (const { labels, series } of pending.values()) {
          if (series.count === 0) continue;
          this.inc(labels, series.count);
          series.count = 0;
        }
      },
    });
  }

  /** The handle of a label set; the same one for equal labels, so the series stay as many as the label sets. */
  series(labels: LabelValues<T>): DeferredSeries {
    const key = JSON.stringify(labels);
    let kept = this.pending.get(key);
    if (!kept) {
      kept = { labels, series: { count: 0 } };
      this.pending.set(key, kept);
    }
    return kept.series;
  }
}
