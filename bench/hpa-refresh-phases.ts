import type { Agent } from 'node:https';
import type { PhaseResult } from './hpa-clients.js';
import { counterDelta } from './support/adapter.js';
import type { PhaseCpu, startPhaseCpu } from './support/phase-cpu.js';
import type { ServerProcess } from './support/processes.js';
import { round } from './support/stats.js';

/** One build's adapters on the shared Prometheus and kube double, and the bench's client. */
export interface BenchCluster {
  keys: number;
  periodSeconds: number;
  measureSeconds: number;
  /** A replica of the build with these extra flags, once it is ready and its discovery announces queue_depth. */
  start(args: readonly string[]): Promise<ServerProcess>;
  /** `count` polls spread evenly over as many periods, poll n (from `first`) to the replica `route(n)` picks. */
  poll(count: number, first: number, route: (n: number) => ServerProcess): Promise<PhaseResult>;
  counters(replica: ServerProcess): Promise<Record<string, number>>;
  cpu(replicas: readonly ServerProcess[]): ReturnType<typeof startPhaseCpu>;
  agent: Agent;
}

/** Polls spread over two replicas: counts per minute and per replica (in the order given). */
export interface SpreadResult extends PhaseResult {
  missesPerMinute: number;
  backendCallsPerMinutePerReplica: number[];
  /** Hits over the polls each replica answered. */
  hitRatioPerReplica: number[];
  hits: number;
  /** Each replica's cache counters over the measured part. */
  cachePerReplica: Record<string, number>[];
  cpu: PhaseCpu;
}

/**
 * Polls spread over two replicas, as two API servers' proxied connections spread them: each
 * period, half the HPAs' polls reach each replica, and an HPA's next poll the other one. One period
 * for the second replica to be polled as the first was, then the measured part.
 */
export async function measureSpread(cluster: BenchCluster, a: ServerProcess, b: ServerProcess): Promise<SpreadResult> {
  const { keys, measureSeconds, periodSeconds } = cluster;
  const route = (n: number) => ((n + Math.floor(n / keys)) % 2 === 0 ? a : b);
  await cluster.poll(keys, 0, route);
  const before = [await cluster.counters(a), await cluster.counters(b)];
  const cpu = cluster.cpu([a, b]);
  const polled = await cluster.poll(Math.round((measureSeconds * keys) / periodSeconds), keys, route);
  const phaseCpu = cpu.over(polled.requests);
  const after = [await cluster.counters(a), await cluster.counters(b)];
  const deltas = after.map((counts, i) => counterDelta(before[i] ?? {}, counts));
  return {
    ...polled,
    cpu: phaseCpu,
    hits: deltas.reduce((sum, d) => sum + (d.hits ?? 0), 0),
    cachePerReplica: deltas,
    missesPerMinute: perMinute(
      deltas.reduce((sum, d) => sum + missesIn(d), 0),
      measureSeconds,
    ),
    backendCallsPerMinutePerReplica: deltas.map((d) => perMinute(d.backendLoads, measureSeconds)),
    // Each replica answers half the polls (the route alternates).
    hitRatioPerReplica: deltas.map((d) => ratio(d.hits, (d.hits ?? 0) + missesIn(d) + (d.stale ?? 0))),
  };
}

/** Hits over the polls that were answered (failed ones are counted apart, by status). */
export function hitRatio(delta: Record<string, number>, phase: PhaseResult): number {
  return ratio(delta.hits, phase.requests - phase.failures);
}

export function missesIn(delta: Record<string, number>): number {
  return (delta.misses ?? 0) + (delta.coalesced ?? 0);
}

export function perMinute(count: number | undefined, seconds: number): number {
  return round(((count ?? 0) * 60) / seconds, 0);
}

export function ratio(part: number | undefined, whole: number): number {
  return whole === 0 ? 0 : round((part ?? 0) / whole, 4);
}
