import autocannon from 'autocannon';
import { cpuSeconds } from './processes.js';
import { percentile, round, sortedCopy } from './stats.js';

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /**
   * CPU time the server process spent per request (user + system), when its pid is known. Unlike
   * throughput it barely moves when other work on the machine takes turns on the server's CPU.
   */
  serverCpuMicrosPerRequest?: number;
}

export interface LoadOptions {
  url: string;
  durationSeconds: number;
  /** Unmeasured run first: JIT, TLS sessions and caches warm. */
  warmupSeconds: number;
  connections: number;
  /** The server's process id, for serverCpuMicrosPerRequest. */
  serverPid?: number;
}

/**
 * autocannon through its programmatic API. Latencies come from its per-response event, in
 * fractional milliseconds: its own histogram counts whole milliseconds, too coarse for a
 * sub-millisecond cached hit.
 */
export async function measureLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await run(options, options.warmupSeconds, () => {});
  const latencies: number[] = [];
  const cpuBefore = cpuSeconds(options.serverPid);
  const result = await run(options, options.durationSeconds, (ms) => latencies.push(ms));
  const cpuAfter = cpuSeconds(options.serverPid);
  const sorted = sortedCopy(latencies);
  const seconds = result.duration > 0 ? result.duration : options.durationSeconds;
  return {
    requests: result.requests.total,
    requestsPerSecond: round(result.requests.total / seconds, 0),
    p50Ms: round(percentile(sorted, 0.5), 3),
    p99Ms: round(percentile(sorted, 0.99), 3),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    ...(cpuBefore === undefined || cpuAfter === undefined || result.requests.total === 0
      ? {}
      : { serverCpuMicrosPerRequest: round(((cpuAfter - cpuBefore) * 1e6) / result.requests.total, 0) }),
  };
}

function run(options: LoadOptions, seconds: number, onLatency: (ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: options.url, connections: options.connections, duration: seconds, pipelining: 1 },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) onLatency(responseTime);
    });
  });
}
