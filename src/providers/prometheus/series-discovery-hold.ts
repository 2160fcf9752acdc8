import { runInTurns } from '../../lib/turn-slicer.js';
import type { Series } from './announced-metrics.js';

/**
 * Prometheus's default `--query.lookback-delta`: an instant query still answers from a sample this
 * old, so a series missing from one listing can still be served for this long after its last sample.
 */
export const PROMETHEUS_LOOKBACK_MS = 5 * 60_000;

/**
 * How long series discovery keeps a series that its listings no longer find: the listing window
 * (`--metrics-max-age`) or Prometheus's lookback, whichever is longer. Keeping it past the
 * lookback would announce a series no instant query answers any more.
 */
export function seriesHoldMs(maxAgeMs: number): number {
  return Math.max(maxAgeMs, PROMETHEUS_LOOKBACK_MS);
}

/** Series a listing did not find that are still kept, and how many. */
export interface HeldListing {
  series: Series[];
  held: number;
}

interface Listed {
  series: Series;
  /** The listing time (ms) of the last listing that found it. */
  listedAtMs: number;
  /** Which listing of its query found it last, to tell "listed now" apart whatever the clock says. */
  listing: number;
}

/** Series each step of a merge goes through before the event loop may be given back. */
const SERIES_PER_STEP = 512;

/**
 * The series each seriesQuery found within the last `holdMs`. /api/v1/series answers only series
 * with samples stored in its window [now - maxAge, now]: a series written less often than that (a
 * recording rule every 2 minutes, data at a TSDB block boundary) is missing from a listing that
 * falls between two of its samples, although an instant query still answers it. Keeping what was
 * listed within the bound serves it through such a gap; a series that is really gone leaves after
 * the bound, and what is kept is never more than what the listings found within it.
 */
export class SeriesHold {
  private readonly byQuery = new Map<string, { listings: number; series: Map<string, Listed> }>();

  constructor(private readonly holdMs: number) {}

  /**
   * `listed` (the very array when nothing else is kept) and after it the series of `key` that an
   * earlier listing found less than `holdMs` before `atMs`; older ones are forgotten.
   */
  merge(key: string, listed: Series[], atMs: number, slice: () => Promise<void> | undefined): Promise<HeldListing> {
    return runInTurns(this.mergeSteps(key, listed, atMs), slice);
  }

  private *mergeSteps(key: string, listed: Series[], atMs: number): Generator<void, HeldListing> {
    let query = this.byQuery.get(key);
    if (!query) {
      query = { listings: 0, series: new Map() };
      this.byQuery.set(key, query);
    }
    const listing = ++query.listings;
    for (const [i, series] of listed.entries()) {
      query.series.set(identity(series), { series, listedAtMs: atMs, listing });
      if (i % SERIES_PER_STEP === SERIES_PER_STEP - 1) yield;
    }
    const held: Series[] = [];
    let seen = 0;
    for (const [id, kept] of query.series) {
      if (++seen % SERIES_PER_STEP === 0) yield;
      if (kept.listing === listing) continue;
      if (atMs - kept.listedAtMs > this.holdMs) query.series.delete(id);
      else held.push(kept.series);
    }
    return { series: held.length === 0 ? listed : [...listed, ...held], held: held.length };
  }
}

/** A series' labels in name order: servers need not list them in one order every time. */
function identity(series: Series): string {
  return JSON.stringify(Object.entries(series).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
