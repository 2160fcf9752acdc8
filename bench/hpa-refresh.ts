import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CACHE_SETTINGS } from '../src/cache/config.js';
import { createCertDir } from '../test/support/certs.js';
import { HPA_USER } from '../test/support/cluster-harness.js';
import { startPrometheus } from '../test/support/prometheus-server.js';
import {
  CONFIG,
  type PhaseResult,
  QUEUE_DEPTH_DISCOVERY_ARGS,
  queueDepthSeries,
  queueName,
  sendEvenly,
} from './hpa-clients.js';
import { type LeaderModeResult, measureLeaderMode } from './hpa-refresh-leader.js';
import {
  type BenchCluster,
  hitRatio,
  measureSpread,
  missesIn,
  perMinute,
  type SpreadResult,
} from './hpa-refresh-phases.js';
import { cacheCounters, certificateIn, counterDelta, MAIN_JS } from './support/adapter.js';
import { type AdapterRuntime, adapterEnv } from './support/adapter-runtime.js';
import { startKubeDoubleProcess } from './support/kube-double-process.js';
import { type PhaseCpu, startPhaseCpu } from './support/phase-cpu.js';
import { SERVER_CPU, type ServerProcess, startServerProcess } from './support/processes.js';
import { replicaState, type WarmUp, waitFor, warmUpOf } from './support/replica-state.js';
import { round } from './support/stats.js';

/**
 * (b) with HPA-aware refresh: HPAs in the kube-apiserver double (a child process of its own), each
 * with an External metric of its own queue, and adapters in cluster mode (front-proxy
 * authentication, as the aggregator calls them) polled once per HPA sync period per HPA:
 * - `all` mode, one replica: the first full period after it is ready (the first poll of every HPA)
 *   and the steady state after it: p50/p99, misses;
 * - two replicas with the polls spread over both: misses per minute, p50/p99, backend calls per
 *   minute per replica;
 * - failover: one replica stopped, the survivor's hit rate over the next full period;
 * - `leader` mode (hpa-refresh-leader.ts): two replicas, polls spread, then the Lease holder stopped.
 * The same phases run for `compareMainJs`, as the baseline. Each phase also reports the adapters'
 * CPU time per poll (from /proc: it counts the background refreshes too, and moves far less than
 * latency on a loaded machine) and each process's share of a core. Failed polls are counted by
 * status with the first message of each, apart from hits and misses: hit ratios are over answered polls.
 */
export interface HpaRefreshOptions {
  keys: number;
  periodSeconds: number;
  measureSeconds: number;
  compareMainJs?: string;
  /** Where each adapter writes a V8 CPU profile (node --cpu-prof) when it stops. */
  cpuProfileDir?: string;
  /** The Node the replicas run on (both builds); default the bench's own. */
  runtime?: AdapterRuntime;
}

export interface BuildResult {
  build: string;
  /** Seconds from start to ready (readiness waits for the first refresh of every HPA read, up to --hpa-refresh-warmup). */
  startSeconds: number;
  /** The first replica's warm-up as it logged it: warm, or ready anyway after --hpa-refresh-warmup. */
  warmUp?: WarmUp;
  /** The first period after the first replica is ready: every HPA's first poll. */
  firstPolls: PhaseResult & { hitRatio: number; cpu: PhaseCpu };
  oneReplica: PhaseResult & { misses: number; backendCallsPerMinute: number; cpu: PhaseCpu };
  twoReplicas: SpreadResult;
  failover: PhaseResult & { hitRatio: number; cpu: PhaseCpu };
  leader: LeaderModeResult;
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
  /** The Node the replicas ran on, and with which NODE_OPTIONS. */
  adapterNode: string;
  /** What one replica loads per minute when every key is loaded once per cache TTL (the default 20 s): today's cost per replica polled for every key. */
  expectedBackendCallsPerMinutePerReplica: number;
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
  const loadAverageAtStart = loadavg();
  const prometheus = await startPrometheus({ series: queueDepthSeries(options.keys) });
  const kube = await startKubeDoubleProcess(options.keys);
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
    const path = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth';
    const intervalMs = (options.periodSeconds * 1000) / options.keys;
    const clusterOf = (mainJs: string): BenchCluster => ({
      keys: options.keys,
      periodSeconds: options.periodSeconds,
      measureSeconds: options.measureSeconds,
      agent,
      async start(args) {
        const replica = await startServerProcess(
          options.runtime?.node ?? process.execPath,
          [
            ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
            mainJs,
            '--secure-port=0',
            `--config=${configPath}`,
            `--prometheus-url=${prometheus.url}`,
            ...QUEUE_DEPTH_DISCOVERY_ARGS,
            `--tls-cert-file=${serving.certPath}`,
            `--tls-private-key-file=${serving.keyPath}`,
            `--requestheader-client-ca-file=${frontProxyCa.certPath}`,
            '--requestheader-allowed-names=front-proxy-client',
            `--kubeconfig=${kube.kubeconfigPath}`,
            ...args,
          ],
          { cpu: SERVER_CPU, env: adapterEnv(options.runtime), timeoutMs: 60_000 },
        );
        // Ready, but an external metric is served only once a relist found its series: polls before
        // that would be 404s, a failure of the bench and not of the refresh.
        await waitFor(`replica on port ${replica.port} announcing queue_depth`, 30_000, async () => {
          return (await replicaState(replica, agent)).externalMetrics > 0;
        }).catch(async (error: Error) => {
          await replica.stop();
          throw new Error(`${error.message}\n${replica.output.join('\n').slice(-2000)}`);
        });
        return replica;
      },
      poll: (count, first, route) =>
        sendEvenly(
          count,
          intervalMs,
          first,
          (n) =>
            `https://127.0.0.1:${route(n).port}${path}?labelSelector=${encodeURIComponent(`queue=${queueName(n % options.keys)}`)}`,
          agent,
          headers,
        ),
      counters: (replica) => cacheCounters(`https://127.0.0.1:${replica.port}`, agent),
      cpu: (replicas) => startPhaseCpu(replicas, { prometheus: prometheus.pid, kubeDouble: kube.server.child.pid }),
    });
    const builds: BuildResult[] = [];
    const targets = [{ build: 'this build', mainJs: MAIN_JS }];
    if (options.compareMainJs) targets.push({ build: options.compareMainJs, mainJs: options.compareMainJs });
    for (const target of targets) builds.push(await measureBuild(target.build, clusterOf(target.mainJs)));
    agent.destroy();
    const [self, base] = builds;
    return {
      keys: options.keys,
      adapterNode: options.runtime?.label ?? `node-${process.versions.node}`,
      periodSeconds: options.periodSeconds,
      expectedBackendCallsPerMinutePerReplica: round((options.keys * 60_000) / DEFAULT_CACHE_SETTINGS.ttlMs, 0),
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
    await kube.server.stop();
    await prometheus.stop();
    await certs.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureBuild(build: string, cluster: BenchCluster): Promise<BuildResult> {
  const { keys, periodSeconds, measureSeconds } = cluster;
  const measured = Math.round((measureSeconds * keys) / periodSeconds);
  const started = Date.now();
  const a = await cluster.start([]);
  const startSeconds = round((Date.now() - started) / 1000, 1);
  const warmUp = warmUpOf(a);
  let b: ServerProcess | undefined;
  try {
    // The first poll of every HPA on a replica that just became ready.
    let before = await cluster.counters(a);
    let cpu = cluster.cpu([a]);
    const first = await cluster.poll(keys, 0, () => a);
    let delta = counterDelta(before, await cluster.counters(a));
    const firstPolls = { ...first, hitRatio: hitRatio(delta, first), cpu: cpu.over(first.requests) };

    before = await cluster.counters(a);
    cpu = cluster.cpu([a]);
    const steady = await cluster.poll(measured, keys, () => a);
    const steadyCpu = cpu.over(steady.requests);
    delta = counterDelta(before, await cluster.counters(a));
    const oneReplica = {
      ...steady,
      cpu: steadyCpu,
      misses: missesIn(delta),
      backendCallsPerMinute: perMinute(delta.backendLoads, measureSeconds),
    };

    b = await cluster.start([]);
    const second = b;
    const twoReplicas = await measureSpread(cluster, a, second);

    // Failover: the second replica stops; every poll of the next full period reaches the first.
    await second.stop();
    b = undefined;
    before = await cluster.counters(a);
    cpu = cluster.cpu([a]);
    const survivor = await cluster.poll(keys, 1, () => a);
    const survivorCpu = cpu.over(survivor.requests);
    delta = counterDelta(before, await cluster.counters(a));
    const failover = { ...survivor, hitRatio: hitRatio(delta, survivor), cpu: survivorCpu };
    await a.stop();
    const leader = await measureLeaderMode(cluster);
    const hpasPerCore =
      steadyCpu.adapterMsPerPoll > 0 ? round((periodSeconds * 1000) / steadyCpu.adapterMsPerPoll, -2) : 0;
    const adapterWarnings = warningsIn([...a.output, ...second.output, ...leader.output]);
    return {
      build,
      startSeconds,
      ...(warmUp ? { warmUp } : {}),
      firstPolls,
      oneReplica,
      twoReplicas,
      failover,
      leader: leader.result,
      hpasPerCore,
      adapterWarnings,
    };
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

function quotient(value: number, base: number): number {
  return base === 0 ? 0 : round(value / base, 2);
}
