import { BackgroundRefresh } from '../../lib/background-refresh.js';
import { loopTurns } from '../../lib/turn-slicer.js';
import type { Logger } from '../../observability/logger.js';
import {
  buildDiscovery,
  type Discovery,
  describeCollision,
  EMPTY_DISCOVERY,
  keepingUnchangedLists,
  listSeries,
  type Series,
} from './announced-metrics.js';
import type { PrometheusBackendMetrics } from './metrics.js';
import { type RuleSource, type RuleSources, seriesKey } from './rule-sources.js';
import type { CompiledRule } from './rules.js';
import { SeriesHold } from './series-discovery-hold.js';

/**
 * Series discovery, kept apart from answering queries as prometheus-adapter keeps its lister and
 * registry: every relist interval each server runs its rules' distinct `seriesQuery`s against
 * /api/v1/series, and the rules turn what all servers found into the metrics the API announces.
 * A query that fails keeps serving its last good series, so one bad relist does not take metrics
 * out of discovery; after a failed relist that server tries again sooner. A series a listing does
 * not find stays until no listing has found it for `holdMs` (series-discovery-hold.ts): sparse
 * series fall between the samples of a listing's window without having gone away. Each server
 * relists on its own schedule: one that is down or slow delays and affects only its own rules.
 */
export interface SeriesDiscovery {
  /** What the last relist found, per rule. */
  current(): Discovery;
  /** Runs series discovery of every server now (after any relist in flight); true when every seriesQuery answered. */
  relist(): Promise<boolean>;
  /** The first relist, then one per server every interval (sooner after a failure) until close(). */
  start(): Promise<boolean>;
  /** Stops relisting; resolves once the relists in flight have ended. */
  close(): Promise<void>;
}

export interface SeriesDiscoveryOptions {
  rules: readonly CompiledRule[];
  sources: RuleSources;
  now: () => Date;
  /** How far back a relist looks for series. */
  maxAgeMs: number;
  /** How long a series stays after the last listing that found it (seriesHoldMs); how far back a server's first relist looks. */
  holdMs: number;
  relistIntervalMs: number;
  metrics: PrometheusBackendMetrics;
  /** The backend's logger; each server's lines carry `server`. */
  logger: Logger;
  /** Called after every relist with what it found, before current() returns it. */
  onRelist?: (discovery: Discovery) => void;
  /** The last good series of the config running before a reload, and where this one keeps its own. */
  carried?: CarriedSeries;
}

/**
 * Last good series handed from the running config's backend to a reloaded one (startup/backends.ts),
 * so a reload while a server is down keeps that server's metrics as a failed relist does. Keyed by
 * what the series come from (URL, headers, tenant, seriesQuery), never by server name: a server
 * moved to another URL starts afresh.
 */
export interface CarriedSeries {
  previous: ReadonlyMap<string, Series[]>;
  next: Map<string, Series[]>;
}

function carriedKey(source: RuleSource, seriesQuery: string): string {
  const { url, headers } = source.server.client;
  return JSON.stringify([url, headers ?? {}, source.tenant ?? null, seriesQuery]);
}

/** After a failed relist, try again this soon (or at the interval, if shorter). */
const RETRY_AFTER_FAILURE_MS = 5_000;

/** One server's part: its sources (its own tenant and any a rule names), what they last found. */
interface ServerLister {
  name: string;
  sources: RuleSource[];
  logger: Logger;
  /** Per series key (see rule-sources.ts), with last good series standing in for failed queries. */
  found: ReadonlyMap<string, Series[] | Error>;
  lastGood: Map<string, Series[]>;
  /** What its listings found within holdMs, per series key. */
  hold: SeriesHold;
  /**
   * Whether a relist has listed every query. Until then nothing is held, so each relist looks back
   * over the whole hold: one that starts (or reloads) between a sparse series' samples finds it.
   */
  listedAll: boolean;
  /** Its relists, on its own schedule; a relist with any failed query is retried sooner. */
  relists: BackgroundRefresh<boolean>;
}

/** Built a server per event-loop turn slice (500 servers' timers and signals took 150 ms at once). */
export async function createSeriesDiscovery(options: SeriesDiscoveryOptions): Promise<SeriesDiscovery> {
  const { rules, sources, metrics } = options;
  let current: Discovery = EMPTY_DISCOVERY;
  let announcedCounts = new Map<string, { custom: number; external: number }>();
  const servers = new Map<string, ServerLister>();
  for (const source of sources.all) {
    const name = source.server.name;
    const known = servers.get(name);
    if (known) {
      known.sources.push(source);
      continue;
    }
    const logger = options.logger.child({ server: name });
    const server: ServerLister = {
      name,
      sources: [source],
      logger,
      found: new Map(),
      lastGood: new Map(),
      hold: new SeriesHold(options.holdMs),
      listedAll: false,
      relists: new BackgroundRefresh({
        run: (signal) => relistServer(server, signal),
        intervalMs: options.relistIntervalMs,
        retryAfterFailureMs: RETRY_AFTER_FAILURE_MS,
        complete: (ok) => ok,
        onFailure: (error) => logger.warn({ err: (error as Error).message }, 'prometheus series discovery failed'),
        closeReason: 'prometheus backend closed',
      }),
    };
    servers.set(name, server);
    await loopTurns.slice();
  }

  async function relistServer(server: ServerLister, signal: AbortSignal): Promise<boolean> {
    // 500 servers' relist timers fire together: their calls and what they found go out and are
    // taken in a turn slice at a time.
    await loopTurns.slice();
    const end = options.now();
    const start = new Date(end.getTime() - (server.listedAll ? options.maxAgeMs : options.holdMs));
    const lists = await Promise.all(
      server.sources.map((source) => listSeries(source.client, source.rules, { start, end }, signal)),
    );
    const found = new Map<string, Series[] | Error>();
    let failures = 0;
    let held = 0;
    for (const [i, source] of server.sources.entries()) {
      for (const [seriesQuery, result] of lists[i] ?? []) {
        // A server that refuses fails every query: thousands of warnings were written in one turn.
        await loopTurns.slice();
        if (signal.aborted) return false;
        const key = seriesKey(source, seriesQuery);
        const carried = carriedKey(source, seriesQuery);
        if (!(result instanceof Error)) {
          const kept = await server.hold.merge(key, result, end.getTime(), () => loopTurns.slice());
          held += kept.held;
          found.set(key, kept.series);
          server.lastGood.set(key, kept.series);
          options.carried?.next.set(carried, kept.series);
          continue;
        }
        found.set(key, result);
        failures++;
        const kept = server.lastGood.get(key) ?? options.carried?.previous.get(carried);
        if (kept) {
          server.lastGood.set(key, kept);
          options.carried?.next.set(carried, kept);
        }
        server.logger.warn(
          {
            seriesQuery,
            ...(source.tenant !== undefined ? { tenant: source.tenant } : {}),
            err: result.message,
            keptSeries: kept?.length ?? 0,
          },
          kept ? 'series discovery failed: keeping the last good series of this query' : 'series discovery failed',
        );
        if (kept) found.set(key, kept);
      }
    }
    await loopTurns.slice();
    if (signal.aborted) return false;
    server.found = found;
    if (failures === 0) server.listedAll = true;
    const previous = current;
    current = keepingUnchangedLists(previous, buildDiscovery(rules, allFound(), sources.seriesKey));
    logNewCollisions(previous, current);
    options.onRelist?.(current);
    metrics.relists.inc({ server: server.name, outcome: failures === 0 ? 'success' : 'failure' });
    if (failures === 0) metrics.lastRelistSuccess.set({ server: server.name }, end.getTime() / 1000);
    announce();
    server.logger.debug(
      {
        custom: current.customList.length,
        external: current.externalList.length,
        failedQueries: failures,
        heldSeries: held,
      },
      'prometheus series discovery done',
    );
    return failures === 0;
  }

  /** Each collision is logged when it appears (so at every load), not again at every relist. */
  function logNewCollisions(previous: Discovery, next: Discovery): void {
    const known = new Set(previous.collisions.map(describeCollision));
    for (const collision of next.collisions) {
      const text = describeCollision(collision);
      if (!known.has(text))
        options.logger.warn({ collision }, `two rules name one metric, the later is served: ${text}`);
    }
  }

  function allFound(): Map<string, Series[] | Error> {
    const merged = new Map<string, Series[] | Error>();
    for (const server of servers.values()) for (const [key, result] of server.found) merged.set(key, result);
    return merged;
  }

  function announce(): void {
    const counts = new Map([...servers.keys()].map((name) => [name, { custom: 0, external: 0 }]));
    for (const entry of current.custom.values()) {
      const count = counts.get(sources.of(entry.rule).server.name);
      if (count) count.custom++;
    }
    for (const entry of current.external.values()) {
      const count = counts.get(sources.of(entry.rule).server.name);
      if (count) count.external++;
    }
    // Only the gauges that changed: each server's relist recounts every server, and setting 1,000
    // labelled gauges per relist of 500 servers held the event loop for seconds.
    for (const [server, count] of counts) {
      const last = announcedCounts.get(server);
      if (last?.custom !== count.custom) metrics.announced.set({ server, api: 'custom' }, count.custom);
      if (last?.external !== count.external) metrics.announced.set({ server, api: 'external' }, count.external);
    }
    announcedCounts = counts;
  }

  const everyServer = (run: (server: ServerLister) => Promise<boolean>) =>
    Promise.all([...servers.values()].map(run)).then((oks) => oks.every(Boolean));

  return {
    current: () => current,
    relist: () => everyServer((server) => server.relists.refresh()),
    start: () => everyServer((server) => server.relists.start()),
    async close() {
      await Promise.all([...servers.values()].map((server) => server.relists.close()));
    },
  };
}
