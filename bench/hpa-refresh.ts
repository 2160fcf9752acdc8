import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertDir } from '../test/support/certs.js';
import { HPA_USER } from '../test/support/cluster-harness.js';
import { hpaObject } from '../test/support/hpa-objects.js';
import { startKubeApiserverDouble } from '../test/support/kube-apiserver-double.js';
import { gauge, type SeriesSpec, startPrometheus } from '../test/support/prometheus-server.js';
import { CONFIG, type PhaseResult, queueName, sendEvenly } from './hpa-clients.js';
import { cacheCounters, certificateIn, counterDelta, MAIN_JS } from './support/adapter.js';
import { SERVER_CPU, type ServerProcess, startServerProcess } from './support/processes.js';
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
 */
export interface HpaRefreshOptions {
  keys: number;
  periodSeconds: number;
  measureSeconds: number;
  compareMainJs?: string;
}

export interface BuildResult {
  build: string;
  /** Seconds from start to ready (readiness waits for the first refresh of every HPA read). */
  startSeconds: number;
  /** The first period after the first replica is ready: every HPA's first poll. */
  firstPolls: PhaseResult & { hitRatio: number };
  oneReplica: PhaseResult & { misses: number; backendCallsPerMinute: number };
  twoReplicas: PhaseResult & {
    missesPerMinute: number;
    backendCallsPerMinutePerReplica: number[];
    hits: number;
  };
  failover: PhaseResult & { hitRatio: number };
}

export interface HpaRefreshResult {
  keys: number;
  periodSeconds: number;
  loadAverageAtStart: number[];
  builds: BuildResult[];
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
      builds.push(await measureBuild(target.build, () => start(target.mainJs), options, agent, headers));
    }
    agent.destroy();
    return { keys: options.keys, periodSeconds: options.periodSeconds, loadAverageAtStart, builds };
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
    let before = await counters(a);
    const first = await sendEvenly(perPeriod, intervalMs, 0, urlOf(a.port), agent, headers);
    let delta = counterDelta(before, await counters(a));
    const firstPolls = { ...first, hitRatio: ratio(delta.hits, first.requests) };

    before = await counters(a);
    const steady = await sendEvenly(measured, intervalMs, perPeriod, urlOf(a.port), agent, headers);
    delta = counterDelta(before, await counters(a));
    const oneReplica = {
      ...steady,
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
    const both = await sendEvenly(measured, intervalMs, perPeriod, spread, agent, headers);
    const afterBoth = [await counters(a), await counters(second)];
    const deltas = afterBoth.map((after, i) => counterDelta(beforeBoth[i] ?? {}, after));
    const twoReplicas = {
      ...both,
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
    const survivor = await sendEvenly(perPeriod, intervalMs, 0, (n) => urlOf(a.port)(n + 1), agent, headers);
    delta = counterDelta(before, await counters(a));
    const failover = { ...survivor, hitRatio: ratio(delta.hits, survivor.requests) };
    return { build, startSeconds, firstPolls, oneReplica, twoReplicas, failover };
  } finally {
    await b?.stop();
    await a.stop();
  }
}

function ratio(part: number | undefined, whole: number): number {
  return whole === 0 ? 0 : round((part ?? 0) / whole, 4);
}
