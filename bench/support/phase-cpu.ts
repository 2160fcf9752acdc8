import { performance } from 'node:perf_hooks';
import { cpuSeconds, type ServerProcess } from './processes.js';
import { round } from './stats.js';

/** The CPU the processes of a phase used: the adapters' per poll, and each process's share of one core. */
export interface PhaseCpu {
  /** The replicas' CPU per poll sent, background refreshes included (ms). */
  adapterMsPerPoll: number;
  /** Each replica's share of one core, in the order they started: near 100 it is saturated, and its misses and latency say so, not the design. */
  replicaPercentOfCore: number[];
  prometheusPercentOfCore: number;
  /** The kube-apiserver double (its own process). */
  kubeDoublePercentOfCore: number;
  /** This process: the polling client. */
  clientPercentOfCore: number;
}

export interface OtherProcesses {
  prometheus: number | undefined;
  kubeDouble: number | undefined;
}

/** CPU of the replicas, Prometheus, the kube double and this process from now; `over(polls)` reads them again. */
export function startPhaseCpu(replicas: readonly ServerProcess[], others: OtherProcesses) {
  const read = () => ({
    replicas: replicas.map((replica) => cpuSeconds(replica.child.pid) ?? 0),
    prometheus: cpuSeconds(others.prometheus) ?? 0,
    kubeDouble: cpuSeconds(others.kubeDouble) ?? 0,
    client: process.cpuUsage(),
  });
  const started = performance.now();
  const before = read();
  return {
    over(polls: number): PhaseCpu {
      const after = read();
      const seconds = (performance.now() - started) / 1000;
      const percent = (cpu: number) => round((100 * cpu) / seconds, 0);
      const used = after.replicas.map((value, i) => value - (before.replicas[i] ?? 0));
      const total = used.reduce((sum, value) => sum + value, 0);
      const client = process.cpuUsage(before.client);
      return {
        adapterMsPerPoll: polls === 0 ? 0 : round((total * 1000) / polls, 3),
        replicaPercentOfCore: used.map(percent),
        prometheusPercentOfCore: percent(after.prometheus - before.prometheus),
        kubeDoublePercentOfCore: percent(after.kubeDouble - before.kubeDouble),
        clientPercentOfCore: percent((client.user + client.system) / 1e6),
      };
    },
  };
}
