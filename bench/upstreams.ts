import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateIn, httpsGet, MAIN_JS } from './support/adapter.js';
import { type LoadResult, measureLoad } from './support/autocannon-run.js';
import { SERVER_CPU, type ServerProcess, startServerProcess } from './support/processes.js';
import { percentile, ratio, round, sortedCopy } from './support/stats.js';

/**
 * (g) A metric forwarded to an upstream beside the same request sent to the upstream directly,
 * in one run: two adapter processes (dist/main.js --standalone, static backend), the front one
 * with the other as an upstream over kept-alive HTTPS. Latency is measured one request at a
 * time over one kept-alive connection, forwarded and direct alternating, so both see the same
 * machine; throughput with autocannon. Both servers share CPU 0, as a front and its upstream
 * would share a node's cores; the load generator runs on CPU 1.
 */

export interface UpstreamsBenchResult {
  sequential: {
    requests: number;
    direct: { p50Ms: number; p99Ms: number };
    forwarded: { p50Ms: number; p99Ms: number };
    addedMs: { p50: number; p99: number };
  };
  load: { connections: number; direct: LoadResult; forwarded: LoadResult; throughputRatio: number };
}

const METRIC_PATH = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/bench-upstream';

export async function runUpstreamsBench(options: {
  requests: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
}): Promise<UpstreamsBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-upstreams-'));
  const servers: ServerProcess[] = [];
  try {
    const certificate = await certificateIn(dir);
    const start = async (name: string, yaml: string) => {
      const config = join(dir, `${name}.yaml`);
      await writeFile(config, yaml);
      const server = await startServerProcess(
        process.execPath,
        [
          MAIN_JS,
          '--standalone',
          '--secure-port=0',
          `--config=${config}`,
          `--tls-cert-file=${certificate.certPath}`,
          `--tls-private-key-file=${certificate.keyPath}`,
        ],
        { cpu: SERVER_CPU, env: { ...process.env, LOG_LEVEL: 'info' } },
      );
      servers.push(server);
      return server;
    };
    const upstream = await start(
      'upstream',
      'static:\n  external:\n    - metric: bench-upstream\n      series: [{ labels: { queue: jobs }, value: 42 }]\n',
    );
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'bench-token\n');
    // The bench certificate is self-signed for the adapter's own name; a kept-alive connection
    // verifies it once, so skipping verification changes no per-request cost.
    const front = await start(
      'front',
      `upstreams:
  - name: bench
    url: https://127.0.0.1:${upstream.port}
    groupVersions: [external.metrics.k8s.io/v1beta1]
    insecureSkipTLSVerify: true
    tokenFile: ${tokenFile}
    metrics: { matching: ['bench-.*'] }
`,
    );
    const direct = `https://127.0.0.1:${upstream.port}${METRIC_PATH}`;
    const forwarded = `https://127.0.0.1:${front.port}${METRIC_PATH}`;
    const [a, b] = await Promise.all([httpsGet(direct), httpsGet(forwarded)]);
    if (a.status !== 200 || b.status !== 200 || a.body !== b.body) {
      throw new Error(`forwarded and direct answers differ: ${a.status} ${a.body} / ${b.status} ${b.body}`);
    }
    const sequential = await alternate(direct, forwarded, options.requests);
    const loadOptions = {
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      connections: options.connections,
    };
    const directLoad = await measureLoad({ url: direct, ...loadOptions, serverPid: upstream.child.pid });
    const forwardedLoad = await measureLoad({ url: forwarded, ...loadOptions, serverPid: front.child.pid });
    return {
      sequential,
      load: {
        connections: options.connections,
        direct: directLoad,
        forwarded: forwardedLoad,
        throughputRatio: ratio(forwardedLoad.requestsPerSecond, directLoad.requestsPerSecond),
      },
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

/** One request at a time over one kept-alive connection per target, the two targets in turn. */
async function alternate(
  direct: string,
  forwarded: string,
  requests: number,
): Promise<UpstreamsBenchResult['sequential']> {
  const agents = [direct, forwarded].map(
    () => new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false }),
  );
  const times: [number[], number[]] = [[], []];
  const urls = [direct, forwarded];
  for (let i = 0; i < requests + 200; i++) {
    for (const t of [0, 1] as const) {
      const started = performance.now();
      const answer = await httpsGet(urls[t] as string, agents[t]);
      if (answer.status !== 200) throw new Error(`${urls[t]} answered ${answer.status}`);
      if (i >= 200) times[t].push(performance.now() - started);
    }
  }
  for (const agent of agents) agent.destroy();
  const [d, f] = times.map(sortedCopy) as [Float64Array, Float64Array];
  const stats = (s: Float64Array) => ({ p50Ms: round(percentile(s, 0.5), 3), p99Ms: round(percentile(s, 0.99), 3) });
  const ds = stats(d);
  const fs = stats(f);
  return {
    requests,
    direct: ds,
    forwarded: fs,
    addedMs: { p50: round(fs.p50Ms - ds.p50Ms, 3), p99: round(fs.p99Ms - ds.p99Ms, 3) },
  };
}
