import type { PhaseResult } from './hpa-clients.js';
import { type BenchCluster, hitRatio, measureSpread, type SpreadResult } from './hpa-refresh-phases.js';
import { counterDelta } from './support/adapter.js';
import type { PhaseCpu } from './support/phase-cpu.js';
import type { ServerProcess } from './support/processes.js';
import { replicaState, waitFor } from './support/replica-state.js';
import { round } from './support/stats.js';

/**
 * Bench (j)'s `--hpa-refresh=leader` phases: two replicas, the first holding the Lease (only it
 * refreshes; the other loads a key when a poll finds it expired), polls spread over both as in
 * `all` mode; then the Lease holder stops (SIGTERM: it releases the Lease) and the standby takes
 * the Lease over and refreshes: its hit rate over the next full period.
 */
export interface LeaderModeResult {
  /** The Lease holder first, then the standby. */
  twoReplicas: SpreadResult;
  failover: PhaseResult & {
    hitRatio: number;
    /** From the holder's SIGTERM until the standby's /metrics say it leads (checked every 250 ms). */
    takeoverSeconds: number | undefined;
    cpu: PhaseCpu;
  };
}

const LEADER = ['--hpa-refresh=leader'];

export async function measureLeaderMode(
  cluster: BenchCluster,
): Promise<{ result: LeaderModeResult; output: string[] }> {
  const leading = async (replica: ServerProcess) => (await replicaState(replica, cluster.agent)).leading;
  const holder = await cluster.start(LEADER);
  let standby: ServerProcess | undefined;
  try {
    // The first replica holds the Lease before the second starts, so which one refreshes is known.
    await waitFor('the first leader-mode replica holding the Lease', 60_000, () => leading(holder));
    standby = await cluster.start(LEADER);
    const survivor = standby;
    const twoReplicas = await measureSpread(cluster, holder, survivor);

    const stopped = Date.now();
    await holder.stop();
    const before = await cluster.counters(survivor);
    const cpu = cluster.cpu([survivor]);
    let takeoverSeconds: number | undefined;
    const polled = cluster.poll(cluster.keys, 1, () => survivor);
    let polling = true;
    const done = () => {
      polling = false;
    };
    polled.then(done, done);
    while (polling && takeoverSeconds === undefined) {
      if (await leading(survivor)) takeoverSeconds = round((Date.now() - stopped) / 1000, 1);
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const failed = await polled;
    const failoverCpu = cpu.over(failed.requests);
    const delta = counterDelta(before, await cluster.counters(survivor));
    return {
      result: {
        twoReplicas,
        failover: { ...failed, hitRatio: hitRatio(delta, failed), takeoverSeconds, cpu: failoverCpu },
      },
      output: [...holder.output, ...survivor.output],
    };
  } finally {
    await standby?.stop();
    await holder.stop();
  }
}
