import { Counter, Gauge, type Registry } from 'prom-client';
import { ApiError } from '../api/errors.js';
import type { ResourceResolver } from '../api/resource-table.js';
import { parseSelector } from '../api/selector.js';
import { type CacheCaller, type CacheRefresh, MIN_REFRESH_LEAD_MS } from '../cache/query-cache.js';
import { type ControllerRequest, controllerRequest, requestPath } from '../hpa/controller-requests.js';
import type { HpaChange, HpaObjectReference, HpaSummary } from '../kube/hpa-informer.js';
import type { InformerHealth } from '../kube/list-watch-informer.js';
import { BackgroundRefresh, type RefreshTimers } from '../lib/background-refresh.js';
import { TimeoutDeadline } from '../lib/deadline.js';
import { TurnSlicer } from '../lib/turn-slicer.js';
import { createLogSampler } from '../observability/log-sampler.js';
import type { Logger } from '../observability/logger.js';
import type { CustomMetricsProvider, ExternalMetricsProvider } from '../providers/provider.js';

/** The HPAs of the cluster as the refresher sees them: the HPA informer (src/kube/hpa-informer.ts). */
export interface HpaSource {
  hpas(): Iterable<HpaSummary>;
  subscribe(listener: (change: HpaChange) => void): () => void;
  health(): InformerHealth;
}

export interface HpaRefresherOptions {
  hpas: HpaSource;
  /** The router requests go to: a refresh is the request the HPA will make, so it reaches the same cache key. */
  provider: CustomMetricsProvider & ExternalMetricsProvider;
  resources: ResourceResolver;
  /** The scale target's pod selector (`status.selector` of its scale subresource), for Pods metrics; without it they are not refreshed. */
  targetSelector?: (namespace: string, target: HpaObjectReference, signal: AbortSignal) => Promise<string>;
  /**
   * With `--hpa-refresh=leader`: only while this replica holds the Lease (src/kube/lease-elector.ts)
   * are reads refreshed (on taking it over, every read whose time passed meanwhile is due at once);
   * the other replicas cache values as requests come. Without it every replica refreshes (`all`).
   */
  leadership?: RefreshLeadership;
  logger: Logger;
  registry: Registry;
  /** How often due reads are looked for. Default 250 ms. */
  tickMs?: number;
  /** Refreshes running at once, so a warm-up never fills a backend's load queue. Default 8. */
  concurrency?: number;
  /** Deadline of one refresh. Default 10 s. */
  timeoutMs?: number;
  /** A value is reloaded at least this long before it expires (longer when its loads are slow or refreshes late). Default MIN_REFRESH_LEAD_MS, 1 s. */
  minLeadMs?: number;
  /** After a failed refresh, the next try comes this soon. Default 5 s; 30 s for a metric with no data or not served. */
  retryMs?: number;
  now?: () => number;
  /** Uniform in [0, 1), for spreading refreshes (see KeptRead.phase); default Math.random. */
  random?: () => number;
  timers?: RefreshTimers;
}

/** Whether this replica is the one that refreshes: the Lease holder. */
export interface RefreshLeadership {
  readonly leading: boolean;
}

interface KeptRead {
  read: ControllerRequest;
  /** The HPAs (namespace/name) that make this read. */
  hpas: Set<string>;
  dueAt: number;
  /** How long the last refresh took, to reload ahead of expiry by more than that. */
  lastMs: number;
  refreshed: boolean;
  /**
   * Reads learned together (a warm-up, many HPAs created at once) or recovering together from a
   * backend outage are loaded together, and so would stay due together every TTL: a burst of
   * refreshes holding the event loop and the backend while HPA polls wait behind it. After such a
   * load (`unspread`) the next refresh comes at a random point before its usual time and loads
   * even though the value is not about to expire (`early`); from then on the read keeps that
   * phase (`spread`). The price is one early load per read, once.
   */
  phase: 'unspread' | 'early' | 'spread';
}

const NOT_SERVED_RETRY_MS = 30_000;

/**
 * HPA-aware refresh: from every HPA the informer holds, the reads the HPA controller will make
 * (src/hpa/controller-requests.ts, as explain hpa sends them), each kept fresh in the backend's cache shortly before it expires, so every
 * poll of it is a hit whatever the TTL and the poll period, on every replica that runs one.
 * Reads no HPA makes are not refreshed. A refresh is the HPA's own request with a CacheRefresh
 * (src/cache/query-cache.ts): one load per TTL through the cache's single-flight and limiter;
 * a failed refresh leaves the last value to the HPAs' requests under their failure policy.
 * The timing is the one BackgroundRefresh of src/lib, ticking to find the reads that are due.
 */
export class HpaRefresher {
  private readonly reads = new Map<string, KeptRead>();
  private readonly readsOfHpa = new Map<string, string[]>();
  private readonly background: BackgroundRefresh<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly metrics: RefreshMetrics;
  private readonly failureLog;
  /**
   * Every refresh starts in an event-loop turn of its own, after the I/O pending then (HPA polls
   * among it): the reads due in one tick, started together, made a burst of backend requests and
   * answers that the polls arriving meanwhile waited behind (bench (j): p99 26.7 ms at 23 % of a
   * core), and reads answered from the cache were all handled in the tick's one turn.
   */
  private readonly turns = new TurnSlicer(0);
  /** How late due reads were started lately (a backlog behind a slow backend or a busy process): the lead grows by it. */
  private lateMs = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: HpaRefresherOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.failureLog = createLogSampler(5, 60_000, this.now);
    this.metrics = refreshMetrics(options.registry, this, options.hpas, options.leadership);
    this.background = new BackgroundRefresh({
      run: (signal) => this.runDue(signal),
      intervalMs: options.tickMs ?? 250,
      closeReason: 'HPA-aware refresh stopped',
      ...(options.timers ? { timers: options.timers } : {}),
    });
  }

  /** Follows the HPAs from now on and refreshes what is due every tick. */
  start(): void {
    this.unsubscribe = this.options.hpas.subscribe((change) => this.apply(change));
    this.replaceAll();
    this.background.keepRefreshing();
  }

  /**
   * Resolves once the HPAs are listed and every read then known has been refreshed once, or
   * after `timeoutMs`, whichever is first; true when warm. For readiness: a replica that just
   * started answers the first poll of every HPA from cache. Without RBAC to list HPAs, at once;
   * on a replica that does not hold the Lease (`leader` mode), once the HPAs are listed: it has
   * nothing to refresh.
   */
  async warmUp(timeoutMs: number): Promise<boolean> {
    const deadline = this.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const warm = (async () => {
      while (this.options.hpas.health() === 'not_synced' && this.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (this.options.hpas.health() !== 'serving') return false;
      if (!this.refreshing) return true;
      await this.background.refresh();
      return [...this.reads.values()].every((kept) => kept.refreshed);
    })();
    try {
      return await Promise.race([warm, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads kept fresh now, each with the HPAs that make it (explain, tests). */
  kept(): { path: string; hpas: string[]; dueAt: number }[] {
    return [...this.reads.entries()].map(([path, kept]) => ({ path, hpas: [...kept.hpas], dueAt: kept.dueAt }));
  }

  get hpaCount(): number {
    return this.readsOfHpa.size;
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    await this.background.close();
  }

  private apply(change: HpaChange): void {
    if (change.type === 'replaced') this.replaceAll();
    else if (change.type === 'delete') this.forget(`${change.namespace}/${change.name}`);
    else this.learn(change.hpa);
  }

  private replaceAll(): void {
    const known = new Set<string>();
    for (const hpa of this.options.hpas.hpas()) {
      known.add(`${hpa.namespace}/${hpa.name}`);
      this.learn(hpa);
    }
    for (const key of [...this.readsOfHpa.keys()]) if (!known.has(key)) this.forget(key);
  }

  private learn(hpa: HpaSummary): void {
    const key = `${hpa.namespace}/${hpa.name}`;
    const wanted: ControllerRequest[] = [];
    for (const metric of hpa.metrics) {
      const read = controllerRequest(hpa.namespace, hpa.scaleTargetRef, metric, this.options.resources);
      if (read.kind === 'none') {
        const why = read.why;
        this.options.logger.warn({ hpa: key, metric: metric.metric.name, why }, 'HPA metric not refreshed ahead');
      } else if (read.kind !== 'pods' || this.options.targetSelector !== undefined) wanted.push(read);
    }
    const paths = wanted.map((read) => requestPath(read));
    this.forget(key, new Set(paths));
    for (const [i, path] of paths.entries()) {
      const read = wanted[i] as ControllerRequest;
      const kept = this.reads.get(path);
      if (kept) kept.hpas.add(key);
      else
        this.reads.set(path, {
          read,
          hpas: new Set([key]),
          dueAt: this.now(),
          lastMs: 0,
          refreshed: false,
          phase: 'unspread',
        });
    }
    this.readsOfHpa.set(key, paths);
  }

  /** The HPA no longer makes its reads (but those in `keep`); a read no HPA makes is no longer refreshed. */
  private forget(hpa: string, keep: ReadonlySet<string> = new Set()): void {
    for (const path of this.readsOfHpa.get(hpa) ?? []) {
      if (keep.has(path)) continue;
      const kept = this.reads.get(path);
      kept?.hpas.delete(hpa);
      if (kept?.hpas.size === 0) this.reads.delete(path);
    }
    if (keep.size === 0) this.readsOfHpa.delete(hpa);
  }

  /** Whether this replica refreshes now: always, or in `leader` mode while it holds the Lease. */
  private get refreshing(): boolean {
    return this.options.leadership?.leading ?? true;
  }

  /** One tick: every due read refreshed, `concurrency` at a time, soonest due first. */
  private async runDue(signal: AbortSignal): Promise<void> {
    if (!this.refreshing) return;
    const now = this.now();
    const due = [...this.reads.values()].filter((kept) => kept.dueAt <= now).sort((a, b) => a.dueAt - b.dueAt);
    // Decays by half each tick with nothing late, so a passing backlog does not keep the lead long.
    this.lateMs /= 2;
    let next = 0;
    const worker = async () => {
      while (next < due.length && !signal.aborted && this.refreshing) {
        await this.turns.slice();
        const kept = due[next++];
        if (kept === undefined || signal.aborted || !this.refreshing) return;
        await this.refreshOne(kept, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency ?? 8, due.length) }, worker));
  }

  private async refreshOne(kept: KeptRead, signal: AbortSignal): Promise<void> {
    const started = this.now();
    if (kept.refreshed) this.lateMs = Math.max(this.lateMs, started - kept.dueAt);
    const minLeadMs = this.options.minLeadMs ?? MIN_REFRESH_LEAD_MS;
    const leadMs = Math.max(minLeadMs, 3 * kept.lastMs, 2 * this.lateMs);
    const early = kept.phase === 'early';
    const refresh: CacheRefresh = { leadMs: early ? Number.POSITIVE_INFINITY : leadMs, expiresAt: undefined };
    const deadline = new TimeoutDeadline(this.options.timeoutMs ?? 10_000, signal);
    try {
      await this.call(kept.read, { deadline, refresh }, deadline.signal);
      const at = this.now();
      kept.lastMs = at - started;
      kept.refreshed = true;
      const expiresAt = refresh.expiresAt ?? at + (this.options.retryMs ?? 5_000);
      // Never due again at once: a TTL shorter than twice the lead is refreshed at half its length.
      const dueAt = expiresAt - Math.min(leadMs, (expiresAt - at) / 2);
      kept.dueAt = kept.phase === 'unspread' ? at + this.random() * (dueAt - at) : dueAt;
      kept.phase = kept.phase === 'unspread' ? 'early' : 'spread';
      this.metrics.refreshes.inc({ outcome: 'success' });
    } catch (error) {
      if (signal.aborted) return;
      kept.refreshed = true;
      kept.phase = 'unspread';
      const notServed = error instanceof ApiError && error.reason === 'NotFound';
      // The cache's own load limit turned it away (every slot busy, the queue full; a 429 of an
      // upstream says the same): the backend was not asked, so nothing failed.
      const refused = error instanceof ApiError && error.reason === 'TooManyRequests';
      kept.dueAt = this.now() + (notServed ? NOT_SERVED_RETRY_MS : (this.options.retryMs ?? 5_000));
      this.metrics.refreshes.inc({ outcome: notServed ? 'not_found' : refused ? 'refused' : 'error' });
      const dropped = this.failureLog.fields();
      const what = refused
        ? 'HPA-aware refresh turned away: the backend has all its loads running and queued'
        : 'HPA-aware refresh failed';
      if (dropped)
        this.options.logger.warn(
          { read: requestPath(kept.read), hpas: [...kept.hpas].slice(0, 5), err: (error as Error).message, ...dropped },
          `${what}; the last value stays under the metric failure policy, retrying`,
        );
    } finally {
      deadline.dispose();
    }
  }

  private async call(read: ControllerRequest, caller: CacheCaller, signal: AbortSignal): Promise<unknown> {
    const { provider } = this.options;
    const { namespace, metric, metricSelector } = read;
    if (read.kind === 'external') return provider.getExternalMetric({ ...caller, namespace, metric, metricSelector });
    if (read.kind === 'object') {
      const object = { resource: read.resource, namespace, name: read.name };
      return provider.getMetricByName({ ...caller, object, metric, metricSelector });
    }
    const podSelector = await this.options.targetSelector?.(namespace, read.target, signal);
    if (podSelector === undefined)
      throw ApiError.notFound(`no pod selector for ${read.target.kind} ${read.target.name}`);
    const objectSelector = parseSelector(podSelector);
    const resource = { group: '', resource: 'pods' };
    return provider.getMetricBySelector({ ...caller, resource, namespace, objectSelector, metric, metricSelector });
  }
}

interface RefreshMetrics {
  refreshes: Counter<'outcome'>;
}

function refreshMetrics(
  registry: Registry,
  refresher: HpaRefresher,
  hpas: HpaSource,
  leadership: RefreshLeadership | undefined,
): RefreshMetrics {
  if (leadership) {
    new Gauge({
      name: 'hpa_metrics_adapter_hpa_refresh_leading',
      help: 'With --hpa-refresh=leader: 1 on the replica that holds the Lease and refreshes the reads HPAs make, 0 on the others (they cache values as requests come).',
      registers: [registry],
      collect() {
        this.set(leadership.leading ? 1 : 0);
      },
    });
  }
  new Gauge({
    name: 'hpa_metrics_adapter_hpa_refresh_active',
    help: 'HPA-aware refresh: 1 while the HPA watch serves (state="serving"); 0 with the reason otherwise (watch_forbidden: no RBAC to list and watch horizontalpodautoscalers.autoscaling, values are then cached only as requests come, as without it).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const state = hpas.health();
      this.set({ state }, state === 'serving' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hpa_metrics_adapter_hpa_refresh_reads',
    help: 'Metric reads HPA-aware refresh keeps fresh: the distinct reads the HPAs of the cluster make.',
    registers: [registry],
    collect() {
      this.set(refresher.kept().length);
    },
  });
  new Gauge({
    name: 'hpa_metrics_adapter_hpa_refresh_hpas',
    help: 'HPAs whose reads HPA-aware refresh keeps fresh.',
    registers: [registry],
    collect() {
      this.set(refresher.hpaCount);
    },
  });
  return {
    refreshes: new Counter({
      name: 'hpa_metrics_adapter_hpa_refreshes_total',
      help: "Refreshes of the reads HPAs make, by outcome: success (fresh or reloaded), not_found (no data, or a metric no backend serves), refused (turned away by the cache's load limit, the backend not asked), error (the last value stays, under the failure policy).",
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
