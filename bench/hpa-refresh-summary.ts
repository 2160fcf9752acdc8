import type { PhaseResult } from './hpa-clients.js';
import type { HpaRefreshResult } from './hpa-refresh.js';
import type { PhaseCpu } from './support/phase-cpu.js';
import { mark, type Row } from './support/summary-row.js';

/** Bench (j)'s rows of the summary table. */
export function hpaRefreshRows(r: HpaRefreshResult): Row[] {
  const percent = (x: number) => `${Math.round(x * 1000) / 10} %`;
  const failed = (p: PhaseResult) =>
    p.failures === 0
      ? '0 failed'
      : `${p.failures} failed (${Object.entries(p.failuresBy ?? {})
          .map(([why, n]) => `${why} ×${n}: ${(p.firstFailures?.[why] ?? '').slice(0, 160)}`)
          .join('; ')})`;
  const latency = (p: PhaseResult) => `p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms, ${failed(p)}`;
  const cpu = (c: PhaseCpu) =>
    `; adapter CPU ${c.adapterMsPerPoll} ms/poll, replicas ${c.replicaPercentOfCore.map((p) => `${p} %`).join(' / ')} of a core (Prometheus ${c.prometheusPercentOfCore} %, kube double ${c.kubeDoublePercentOfCore} %, client ${c.clientPercentOfCore} %)`;
  const hitsOk = (ratio: number, p: PhaseResult) => ratio >= 0.99 && p.failures === 0;
  const expected = r.expectedBackendCallsPerMinutePerReplica;
  const rows = r.builds.flatMap((b, i): Row[] => {
    const name = i === 0 ? '(j)' : '(j) baseline';
    const warm = b.warmUp ? `, ${b.warmUp.warm ? 'warm' : 'not warm'} (${b.warmUp.hpas} HPAs, ${b.warmUp.ms} ms)` : '';
    const { leader } = b;
    return [
      ...(i === 0
        ? [[`(j) (b) HPA-aware, ${r.keys} HPAs`, 'the replicas run on', r.adapterNode, ''] satisfies Row]
        : []),
      [
        name,
        `${b.build}: ready after`,
        `${b.startSeconds} s${warm}; ${b.hpasPerCore} HPAs per adapter core (CPU per poll, steady)`,
        '',
      ],
      [
        '(j)',
        'first poll of every HPA, 1 replica',
        `${percent(b.firstPolls.hitRatio)} hits, ${latency(b.firstPolls)}${cpu(b.firstPolls.cpu)}`,
        `≥ 99 % hits ${mark(hitsOk(b.firstPolls.hitRatio, b.firstPolls))}`,
      ],
      [
        '(j)',
        'steady, 1 replica',
        `${latency(b.oneReplica)}, ${b.oneReplica.misses} misses, ${b.oneReplica.backendCallsPerMinute} backend calls/min${cpu(b.oneReplica.cpu)}`,
        `p99 < 20 ms ${mark(b.oneReplica.p99Ms < 20)}, 0 misses ${mark(b.oneReplica.misses === 0)}`,
      ],
      [
        '(j)',
        '2 replicas, polls spread',
        `${latency(b.twoReplicas)}, ${b.twoReplicas.missesPerMinute} misses/min, hits ${b.twoReplicas.hitRatioPerReplica.map(percent).join(' / ')}, backend calls/min per replica ${b.twoReplicas.backendCallsPerMinutePerReplica.join(' / ')}${cpu(b.twoReplicas.cpu)}`,
        `0 misses/min ${mark(b.twoReplicas.missesPerMinute === 0)}; calls/min per replica ≈ ${expected} (one load per key per TTL)`,
      ],
      [
        '(j)',
        'failover: next full period on the survivor',
        `${percent(b.failover.hitRatio)} hits, ${latency(b.failover)}${cpu(b.failover.cpu)}`,
        `≥ 99 % ${mark(hitsOk(b.failover.hitRatio, b.failover))}`,
      ],
      [
        '(j)',
        'leader mode, 2 replicas, polls spread (holder / standby)',
        `hits ${leader.twoReplicas.hitRatioPerReplica.map(percent).join(' / ')}, backend calls/min ${leader.twoReplicas.backendCallsPerMinutePerReplica.join(' / ')} (${sum(leader.twoReplicas.backendCallsPerMinutePerReplica)} against ${sum(b.twoReplicas.backendCallsPerMinutePerReplica)} in all mode), ${latency(leader.twoReplicas)}${cpu(leader.twoReplicas.cpu)}`,
        'report',
      ],
      [
        '(j)',
        'leader mode failover: next full period on the standby',
        `${percent(leader.failover.hitRatio)} hits, took the Lease after ${leader.failover.takeoverSeconds ?? 'more than the period:'} s, ${latency(leader.failover)}${cpu(leader.failover.cpu)}`,
        `≥ 99 % ${mark(hitsOk(leader.failover.hitRatio, leader.failover))}`,
      ],
    ];
  });
  if (r.ratios) {
    rows.push([
      '(j)',
      'this build ÷ baseline, same run',
      `adapter CPU per poll ${r.ratios.adapterCpuPerPollOneReplica}× (1 replica), ${r.ratios.adapterCpuPerPollTwoReplicas}× (2 replicas, both counted); backend calls/min ${r.ratios.backendCallsPerMinuteOneReplica}×; p99 ${r.ratios.p99OneReplica}×`,
      '',
    ]);
  }
  return rows;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
