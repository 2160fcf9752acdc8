import { Histogram, type HistogramConfiguration, type LabelValues } from 'prom-client';

/** One label set of a DeferredHistogram, kept by the caller; observe() is plain arithmetic. */
export interface HistogramSeries {
  observe(seconds: number): void;
}

/**
 * A prom-client Histogram observed on a hot path through handles: `series(labels)` hands out one
 * handle per label set, whose observations are counted into its own buckets and reported with
 * the histogram's own series at every collection, in prom-client's format. prom-client's
 * observe() (and a `.labels()` binding's) validates and hashes the labels on every call, about a
 * microsecond per request. Observe only through handles: a label set observed both ways would
 * be reported twice.
 */
export class DeferredHistogram<T extends string> {
  readonly histogram: Histogram<T>;
  private readonly handles = new Map<string, BucketCounts>();
  private readonly bounds: readonly number[];

  constructor(config: HistogramConfiguration<T> & { buckets: number[] }) {
    const handles = this.handles;
    this.bounds = [...config.buckets];
    this.histogram = new HandleHistogram(config, () => handles.values());
  }

  /** The handle of a label set; the same one for equal labels, so the series stay as many as the label sets. */
  series(labels: LabelValues<T>): HistogramSeries {
    const key = JSON.stringify(labels);
    let handle = this.handles.get(key);
    if (!handle) {
      handle = new BucketCounts(labels, this.bounds);
      this.handles.set(key, handle);
    }
    return handle;
  }
}

class BucketCounts implements HistogramSeries {
  /** Observations at or below each bound and above the one before (not cumulative). */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: LabelValues<string>,
    readonly bounds: readonly number[],
  ) {
    this.counts = bounds.map(() => 0);
  }

  observe(seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`);
    this.sum += seconds;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        (this.counts[i] as number)++;
        return;
      }
    }
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** What the registry reads of one line: prom-client's own histograms give `labels` the bucket bound and `sharedLabels` the series' labels. */
interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: LabelValues<string>;
  value: number;
  metricName: string;
  /** Always empty: handles take no exemplars. */
  exemplar: null | undefined;
}

/** prom-client's own method, undeclared in its types: the one its Registry calls for the text format. */
interface PromStringSource {
  getForPromString(this: Histogram<string>): Promise<{ values: ExportedValue[] }>;
}

/**
 * The Histogram the registry holds: its lines are prom-client's own (series observed directly)
 * followed by the handles', written as prom-client writes its own. The registry asks
 * `getForPromString` for the text exposition and `get` (which reads it) for everything else.
 */
class HandleHistogram<T extends string> extends Histogram<T> {
  constructor(
    config: HistogramConfiguration<T>,
    private readonly handles: () => Iterable<BucketCounts>,
  ) {
    super(config);
  }

  async getForPromString(): Promise<{ values: ExportedValue[] }> {
    const data = await (Histogram.prototype as unknown as PromStringSource).getForPromString.call(this);
    const name = (this as unknown as { name: string }).name;
    for (const handle of this.handles()) {
      const line = (labels: ExportedValue['labels'], value: number, suffix: string, exemplar: null | undefined) =>
        data.values.push({ labels, sharedLabels: handle.labels, value, metricName: `${name}${suffix}`, exemplar });
      let cumulative = 0;
      handle.bounds.forEach((bound, i) => {
        cumulative += handle.counts[i] as number;
        line({ le: bound }, cumulative, '_bucket', null);
      });
      line({ le: '+Inf' }, handle.count, '_bucket', null);
      line({}, handle.sum, '_sum', undefined);
      line({}, handle.count, '_count', undefined);
    }
    return data;
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor resets too, before this class has its fields.
    const handles: (() => Iterable<BucketCounts>) | undefined = this.handles;
    if (handles) for (const handle of handles()) handle.reset();
  }
}
