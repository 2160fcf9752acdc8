import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createCertDir } from '../test/support/certs.js';
import { HPA_USER } from '../test/support/cluster-harness.js';
import { hpaObject } from '../test/support/hpa-objects.js';
import { startKubeApiserverDouble } from '../test/support/kube-apiserver-double.js';
import { gauge, type SeriesSpec, startPrometheus } from '../test/support/prometheus-server.js';
import { CONFIG, type PhaseResult, queueName, sendEvenly } from './hpa-clients.js';
import { cacheCounters, certificateIn, counterDelta, MAIN_JS } from './support/adapter.js';
import { cpuSeconds, SERVER_CPU, type ServerProcess, startServerProcess } from './support/processes.js';
import { round } from './support/stats.js';

/**
 * (b) with HPA-aware refresh: 10,000 HPAs in the kube-apiserver double, each with an External
 * metric of its own queue, and adapters in cluster mode (front-proxy authentication, as the
 * aggregator calls them) polled once per HPA sync period per HPA:
 * - one replica: the first full period after it is ready (the first poll of every HPA) and the
 *   steady state after it: p50/p99, misses;
 * - two replicas with the polls spread over both: misses per minute, p50/p99, backend calls per
 *   minute per replica;
 * - failover: one replica stopped, the survivor's hit rate over the next full period.
 * The same phases run for `compareMainJs` (a build without HPA-aware refresh), as the baseline.
 * Each phase also reports the adapters' CPU time per poll (from /proc: it counts the background
 * refreshes too, and moves far less than latency on a loaded machine) and the share of a core
 * they used: a replica near 100 % is saturated, and its misses and latency say so, not the design.
 */
export interface HpaRefreshOptions {
  keys: number;
  periodSeconds: number;
  measureSeconds: number;
  compareMainJs?: string;
  /** Where each adapter writes a V8 CPU profile (node --cpu-prof) when it stops. */
  cpuProfileDir?: string;
}

/** The adapters' CPU over a phase: ms per poll sent (refreshes included) and the busiest replica's share of one core. */
export interface PhaseCpu {
  adapterMsPerPoll: number;
  adapterPercentOfCore: number;
  prometheusPercentOfCore: number;
}

export interface BuildResult {
  build: string;
  /** Seconds from start to ready (readiness waits for the first refresh of every HPA read). */
  startSeconds: number;
  /** The first period after the first replica is ready: every HPA's first poll. */
  firstPolls: PhaseResult & { hitRatio: number; cpu: PhaseCpu };
  oneReplica: PhaseResult & { misses: number; backendCallsPerMinute: number; cpu: PhaseCpu };
  twoReplicas: PhaseResult & {
    missesPerMinute: number;
    backendCallsPerMinutePerReplica: number[];
    hits: number;
    cpu: PhaseCpu;
  };
  failover: PhaseResult & { hitRatio: number; cpu: PhaseCpu };
  /**
   * HPAs one adapter core would serve at this period: the period over the CPU one HPA's poll and
   * its refresh cost on one replica at steady state (meaningful while that replica was not saturated).
   */
  hpasPerCore: number;
  /** The adapters' distinct warning and error messages with how often each came (what failures were). */
  adapterWarnings: Record<string, number>;
}

export interface HpaRefreshResult {
  keys: number;
  periodSeconds: number;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  builds: BuildResult[];
  /** This build ÷ the compared build, where both ran. */
  ratios?: {
    adapterCpuPerPollOneReplica: number;
    adapterCpuPerPollTwoReplicas: number;
    backendCallsPerMinuteOneReplica: number;
    p99OneReplica: number;
  };
}

export async function runHpaRefreshBench(options: HpaRefreshOptions): Promise<HpaRefreshResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-hpa-refresh-'));
  const now = Math.floor(Date.now() / 1000);
  const range = { end: now + 3600, seconds: 4800, step: 240 };
  const series: SeriesSpec[] = Array.from({ length: options.keys }, (_, i) =>
    gauge('broker_queue_depth', { namespace: 'default', queue: queueName(i) }, i, range),
  );
  const loadAverageAtStart = loadavg();
  const prometheus = await startPrometheus({ series });
  const kube = await startKubeApiserverDouble();
  kube.allowRules.push({ user: HPA_USER, verb: 'list', group: 'external.metrics.k8s.io' });
  for (let i = 0; i < options.keys; i++) {
    kube.objects.push(
      hpaObject('default', `hpa-${i}`, [
        { type: 'External', name: 'queue_depth', matchLabels: { queue: queueName(i) } },
      ]),
    );
  }
  const certs = await createCertDir('bench-hpa-refresh-');
  try {
    const frontProxyCa = await certs.createCa('front-proxy-ca');
    const client = await frontProxyCa.issue({ cn: 'front-proxy-client' });
    const serving = await certificateIn(join(dir, 'serving'));
    const configPath = join(dir, 'config.yaml');
    await writeFile(configPath, CONFIG);
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 64,
      rejectUnauthorized: false,
      cert: client.chain,
      key: client.key,
    });
    const headers = { 'X-Remote-User': HPA_USER, 'X-Remote-Group': 'system:serviceaccounts' };
    const start = (mainJs: string) =>
      startServerProcess(
        process.execPath,
        [
          ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
          mainJs,
          '--secure-port=0',
          `--config=${configPath}`,
          `--prometheus-url=${prometheus.url}`,
          `--tls-cert-file=${serving.certPath}`,
          `--tls-private-key-file=${serving.keyPath}`,
          `--requestheader-client-ca-file=${frontProxyCa.certPath}`,
          '--requestheader-allowed-names=front-proxy-client',
          `--kubeconfig=${kube.kubeconfigPath}`,
        ],
        { cpu: SERVER_CPU, env: { ...process.env, LOG_LEVEL: 'info' }, timeoutMs: 60_000 },
      );
    const builds: BuildResult[] = [];
    const targets = [{ build: 'this build', mainJs: MAIN_JS }];
    if (options.compareMainJs) targets.push({ build: options.compareMainJs, mainJs: options.compareMainJs });
    for (const target of targets) {
      builds.push(
        await measureBuild(target.build, () => start(target.mainJs), prometheus.pid, options, agent, headers),
      );
    }
    agent.destroy();
    const [self, base] = builds;
    return {
      keys: options.keys,
      periodSeconds: options.periodSeconds,
      loadAverageAtStart,
      loadAverageAtEnd: loadavg(),
      builds,
      ...(self && base
        ? {
            ratios: {
              adapterCpuPerPollOneReplica: quotient(
                self.oneReplica.cpu.adapterMsPerPoll,
                base.oneReplica.cpu.adapterMsPerPoll,
              ),
              adapterCpuPerPollTwoReplicas: quotient(
                self.twoReplicas.cpu.adapterMsPerPoll,
                base.twoReplicas.cpu.adapterMsPerPoll,
              ),
              backendCallsPerMinuteOneReplica: quotient(
                self.oneReplica.backendCallsPerMinute,
                base.oneReplica.backendCallsPerMinute,
              ),
              p99OneReplica: quotient(self.oneReplica.p99Ms, base.oneReplica.p99Ms),
            },
          }
        : {}),
    };
  } finally {
    await kube.close();
    await prometheus.stop();
    await certs.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureBuild(
  build: string,
  start: () => Promise<ServerProcess>,
  prometheusPid: number | undefined,
  options: HpaRefreshOptions,
  agent: Agent,
  headers: Record<string, string>,
): Promise<BuildResult> {
  const { keys, periodSeconds, measureSeconds } = options;
  const intervalMs = (periodSeconds * 1000) / keys;
  const perPeriod = keys;
  const measured = Math.round((measureSeconds * 1000) / intervalMs);
  const path = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth';
  const urlOf = (port: number) => (n: number) =>
    `https://127.0.0.1:${port}${path}?labelSelector=${encodeURIComponent(`queue=${queueName(n % keys)}`)}`;
  const counters = (replica: ServerProcess) => cacheCounters(`https://127.0.0.1:${replica.port}`, agent);
  const started = Date.now();
  const a = await start();
  const startSeconds = round((Date.now() - started) / 1000, 1);
  let b: ServerProcess | undefined;
  try {
    // The first poll of every HPA on a replica that just became ready.
    const cpuOf = (replicas: readonly ServerProcess[]) => startCpu(replicas, prometheusPid);
    let before = await counters(a);
    let cpu = cpuOf([a]);
    const first = await sendEvenly(perPeriod, intervalMs, 0, urlOf(a.port), agent, headers);
    let delta = counterDelta(before, await counters(a));
    const firstPolls = { ...first, hitRatio: ratio(delta.hits, first.requests), cpu: cpu.over(first.requests) };

    before = await counters(a);
    cpu = cpuOf([a]);
    const steady = await sendEvenly(measured, intervalMs, perPeriod, urlOf(a.port), agent, headers);
    const steadyCpu = cpu.over(steady.requests);
    delta = counterDelta(before, await counters(a));
    const oneReplica = {
      ...steady,
      cpu: steadyCpu,
      misses: (delta.misses ?? 0) + (delta.coalesced ?? 0),
      backendCallsPerMinute: round(((delta.backendLoads ?? 0) * 60) / measureSeconds, 0),
    };

    b = await start();
    const second = b;
    // Polls spread over both replicas, as two API servers' proxied connections spread them: each
    // period, half the HPAs' polls reach each replica, and an HPA's next poll the other one.
    const spread = (n: number) => urlOf((n + Math.floor(n / keys)) % 2 === 0 ? a.port : second.port)(n);
    // One period for the second replica to be polled as the first was, then the measured part.
    await sendEvenly(perPeriod, intervalMs, 0, spread, agent, headers);
    const beforeBoth = [await counters(a), await counters(second)];
    cpu = cpuOf([a, second]);
    const both = await sendEvenly(measured, intervalMs, perPeriod, spread, agent, headers);
    const bothCpu = cpu.over(both.requests);
    const afterBoth = [await counters(a), await counters(second)];
    const deltas = afterBoth.map((after, i) => counterDelta(beforeBoth[i] ?? {}, after));
    const twoReplicas = {
      ...both,
      cpu: bothCpu,
      missesPerMinute: round(
        (deltas.reduce((sum, d) => sum + (d.misses ?? 0) + (d.coalesced ?? 0), 0) * 60) / measureSeconds,
        0,
      ),
      backendCallsPerMinutePerReplica: deltas.map((d) => round(((d.backendLoads ?? 0) * 60) / measureSeconds, 0)),
      hits: deltas.reduce((sum, d) => sum + (d.hits ?? 0), 0),
    };

    // Failover: the second replica stops; every poll of the next full period reaches the first.
    await second.stop();
    b = undefined;
    before = await counters(a);
    cpu = cpuOf([a]);
    const survivor = await sendEvenly(perPeriod, intervalMs, 0, (n) => urlOf(a.port)(n + 1), agent, headers);
    const survivorCpu = cpu.over(survivor.requests);
    delta = counterDelta(before, await counters(a));
    const failover = { ...survivor, hitRatio: ratio(delta.hits, survivor.requests), cpu: survivorCpu };
    const hpasPerCore =
      steadyCpu.adapterMsPerPoll > 0 ? round((periodSeconds * 1000) / steadyCpu.adapterMsPerPoll, -2) : 0;
    const adapterWarnings = warningsIn([...a.output, ...second.output]);
    return { build, startSeconds, firstPolls, oneReplica, twoReplicas, failover, hpasPerCore, adapterWarnings };
  } finally {
    await b?.stop();
    await a.stop();
  }
}

function warningsIn(lines: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (entry.level === 'warn' || entry.level === 'error' || entry.level === 'fatal') {
        const msg = String(entry.msg);
        counts[msg] = (counts[msg] ?? 0) + 1;
      }
    } catch {
      // Not a log line (stderr text): not a warning of the adapter's logger.
    }
  }
  return counts;
}

/** CPU seconds of the replicas and Prometheus from now; `over(polls)` reads them again. */
function startCpu(replicas: readonly ServerProcess[], prometheusPid: number | undefined) {
  const read = () => ({
    replicas: replicas.map((replica) => cpuSeconds(replica.child.pid) ?? 0),
    prometheus: cpuSeconds(prometheusPid) ?? 0,
  });
  const started = performance.now();
  const before = read();
  return {
    over(polls: number): PhaseCpu {
      const after = read();
      const seconds = (performance.now() - started) / 1000;
      const used = after.replicas.map((value, i) => value - (before.replicas[i] ?? 0));
      const total = used.reduce((sum, value) => sum + value, 0);
      return {
        adapterMsPerPoll: polls === 0 ? 0 : round((total * 1000) / polls, 3),
        adapterPercentOfCore: round((100 * Math.max(0, ...used)) / seconds, 0),
        prometheusPercentOfCore: round((100 * (after.prometheus - before.prometheus)) / seconds, 0),
      };
    },
  };
}

function quotient(value: number, base: number): number {
  return base === 0 ? 0 : round(value / base, 2);
}

function ratio(part: number | undefined, whole: number): number {
  return whole === 0 ? 0 : round((part ?? 0) / whole, 4);
}
