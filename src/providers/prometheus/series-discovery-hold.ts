import { runInTurns } from '../../lib/turn-slicer.js';
import type { Series } from './announced-metrics.js';

/**
 * Prometheus's default `--query.lookback-delta`: an instant query still answers from a sample this
 * old, so a series missing from one listing can still be served for this long after its last sample.
 */
export const PROMETHEUS_LOOKBACK_MS = 5 * 60_000;

/**
 * How long series discovery keeps a series that its listings no longer find: the listing window
 * (`--metrics-max-age`) or Prometheus's lookback, whichever is longer, and at least two relist
 * intervals. Past the lookback no instant query answers a series written no more often than the
 * max age; two intervals, because relists come an interval apart plus the time each takes, so a
 * bound of one interval (prometheus-adapter's 10m/10m) would drop a series at its first miss.
 */
export function seriesHoldMs(settings: { maxAgeMs: number; relistIntervalMs: number }): number {
  return Math.max(settings.maxAgeMs, PROMETHEUS_LOOKBACK_MS, 2 * settings.relistIntervalMs);
}

/** A listing with the series kept for it appended, and how many were kept. */
export interface HeldListing {
  series: Series[];
  held: number;
}

interface Shape {
  /** The first series of this name and label names in the last listing that found one. */
  series: Series;
  /** The listing time (ms) of that listing. */
  listedAtMs: number;
  /** Which listing of its query that was, to tell "listed now" apart whatever the clock says. */
  listing: number;
}

/** Series each step of a merge goes through before the event loop may be given back. */
const SERIES_PER_STEP = 512;

/**
 * What each seriesQuery found within the last `holdMs`. /api/v1/series answers only series with
 * samples stored in its window [now - maxAge, now]: a series written less often than that (a
 * recording rule every 2 minutes, data at a TSDB block boundary) is missing from a listing that
 * falls between two of its samples, although an instant query still answers it. Keeping what was
 * listed within the bound serves it through such a gap; what is really gone leaves after the bound.
 *
 * What discovery announces depends only on each series' name and label names (buildDiscovery), so
 * one series is kept per name and set of label names: a listing that misses some pods' series but
 * finds others of the same shape holds nothing, and what is kept is bounded by the shapes listed
 * within the bound, not by the series (50,000 pods' series are one shape).
 */
export class SeriesHold {
  private readonly byQuery = new Map<string, { listings: number; shapes: Map<string, Shape> }>();

  constructor(private readonly holdMs: number) {}

  /**
   * `listed` (the very array when nothing else is kept) and after it one series of each shape of
   * `key` that no series in `listed` has and an earlier listing found less than `holdMs` before
   * `atMs`; older shapes are forgotten.
   */
  merge(key: string, listed: Series[], atMs: number, slice: () => Promise<void> | undefined): Promise<HeldListing> {
    return runInTurns(this.mergeSteps(key, listed, atMs), slice);
  }

  private *mergeSteps(key: string, listed: Series[], atMs: number): Generator<void, HeldListing> {
    let query = this.byQuery.get(key);
    if (!query) {
      query = { listings: 0, shapes: new Map() };
      this.byQuery.set(key, query);
    }
    const listing = ++query.listings;
    // Prometheus lists series sorted, its labels in name order: runs of one shape are the rule.
    let last: { name: string | undefined; labels: string[] } | undefined;
    for (const [i, series] of listed.entries()) {
      if (i % SERIES_PER_STEP === SERIES_PER_STEP - 1) yield;
      const labels = Object.keys(series);
      if (last && last.name === series.__name__ && sameNames(last.labels, labels)) continue;
      last = { name: series.__name__, labels };
      const id = shapeOf(series.__name__, labels);
      const shape = query.shapes.get(id);
      if (shape?.listing === listing) continue;
      query.shapes.set(id, { series, listedAtMs: atMs, listing });
    }
    const held: Series[] = [];
    for (const [id, shape] of query.shapes) {
      if (shape.listing === listing) continue;
      if (atMs - shape.listedAtMs > this.holdMs) query.shapes.delete(id);
      else held.push(shape.series);
    }
    return { series: held.length === 0 ? listed : [...listed, ...held], held: held.length };
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

/** A series' name and label names, sorted: a server need not list them in one order every time. */
function shapeOf(name: string | undefined, labels: readonly string[]): string {
  return JSON.stringify([name ?? '', ...[...labels].sort()]);
}
