import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { gauge, startPrometheus } from '../test/support/prometheus-server.js';
import { HOT_PATH_CONFIG, startBaselineServer } from './hot-path.js';
import { certificateIn, httpsGet, MAIN_JS, startAdapterServer } from './support/adapter.js';
import { cpuSeconds, pinRunningProcess, SERVER_CPU, type ServerProcess } from './support/processes.js';
import { median, round } from './support/stats.js';

/**
 * Alone, not a section: the server CPU time per cached hit, over a fixed number of requests, of
 * this build, another (--compare-build) and a bare express 5 route answering the same bytes.
 * Every round measures each target once, starting one target later than the round before; the
 * ratios are medians of the ratios within each round. Section (a) measures throughput over a
 * fixed time in three rounds, which a machine loaded by others turns into noise; this takes
 * longer and reports CPU only, which other load moves much less.
 *
 *   node --import tsx bench/hit-cpu.ts [--rounds=20] [--requests=2500] [--compare-build=…/dist/main.js]
 */

/** The path and bytes of section (a)'s external gauge, where its express baseline answers. */
const PATH = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth';
const QUERY = '?labelSelector=queue%3Djobs';
const CONNECTIONS = 10;

const { values } = parseArgs({
  options: { rounds: { type: 'string' }, requests: { type: 'string' }, 'compare-build': { type: 'string' } },
});
const rounds = Number(values.rounds ?? 20);
const requests = Number(values.requests ?? 2500);

interface Target {
  name: string;
  url: string;
  pid: number | undefined;
}

const dir = await mkdtemp(join(tmpdir(), 'bench-hit-cpu-'));
const now = Math.floor(Date.now() / 1000);
const prometheus = await startPrometheus({
  series: [
    gauge('broker_queue_depth', { namespace: 'default', queue: 'jobs' }, 1500, {
      end: now + 3600,
      seconds: 7200,
      step: 60,
    }),
  ],
});
const servers: ServerProcess[] = [];
try {
  pinRunningProcess(prometheus.pid, SERVER_CPU);
  const certificate = await certificateIn(join(dir, 'certs'));
  const adapterOptions = {
    dir,
    configYaml: HOT_PATH_CONFIG,
    prometheusUrl: prometheus.url,
    certificate,
    cpu: SERVER_CPU,
  };
  const builds: [string, string][] = [['this build', MAIN_JS]];
  if (values['compare-build']) builds.push(['compared build', values['compare-build']]);
  const targets: Target[] = [];
  let body = '';
  for (const [name, mainJs] of builds) {
    const adapter = await startAdapterServer({ ...adapterOptions, mainJs });
    servers.push(adapter);
    const url = `https://127.0.0.1:${adapter.port}${PATH}${QUERY}`;
    const first = await httpsGet(url);
    if (first.status !== 200) throw new Error(`${name} answered ${first.status}: ${first.body}`);
    body = first.body;
    targets.push({ name, url, pid: adapter.child.pid });
  }
  const bodyPath = join(dir, 'body.json');
  await writeFile(bodyPath, body);
  const express = await startBaselineServer('express-route.ts', certificate, bodyPath);
  servers.push(express);
  targets.push({
    name: 'express route',
    url: `https://127.0.0.1:${express.port}${PATH}${QUERY}`,
    pid: express.child.pid,
  });

  for (const target of targets) await send(target.url, requests);
  const cpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + r) % targets.length] as Target;
      const before = cpuSeconds(target.pid) ?? Number.NaN;
      const answered = await send(target.url, requests);
      const after = cpuSeconds(target.pid) ?? Number.NaN;
      cpu.get(target.name)?.push(((after - before) * 1e6) / answered);
    }
  }
  const pairedRatio = (a: string, b: string) => {
    const over = cpu.get(b) ?? [];
    return round(median((cpu.get(a) ?? []).map((x, i) => x / (over[i] as number))), 3);
  };
  const result = {
    rounds,
    requestsPerRound: requests,
    cpuMicrosPerHit: Object.fromEntries([...cpu].map(([name, xs]) => [name, round(median(xs), 0)])),
    thisBuildVsExpress: pairedRatio('this build', 'express route'),
    ...(values['compare-build']
      ? {
          comparedBuildVsExpress: pairedRatio('compared build', 'express route'),
          thisBuildVsComparedBuild: pairedRatio('this build', 'compared build'),
        }
      : {}),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await Promise.allSettled(servers.map((server) => server.stop()));
  await prometheus.stop();
  await rm(dir, { recursive: true, force: true });
}

/** `amount` requests over CONNECTIONS kept-alive connections; any failed answer fails the bench. */
function send(url: string, amount: number): Promise<number> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, amount, pipelining: 1 }, (error, result) => {
      if (error) return reject(error);
      if (result.non2xx > 0 || result.errors > 0) {
        return reject(new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors`));
      }
      resolve(result.requests.total);
    });
  });
}
