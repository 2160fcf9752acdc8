import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';

/**
 * One build's config load, for bench/config-load.ts: `dist/config/load.js` and
 * `dist/startup/backends.js` of the build in argv[2] read the config file argv[3] as the adapter
 * does at start, then once more as a reload. Beside them a /livez server answers at once (as the
 * adapter's does), for the parent to poll. JSON lines on stdout: `{ port }` once listening, then
 * per phase its wall-clock span (epoch ms, the settle included), the longest event-loop delay
 * (perf_hooks, 10 ms resolution: how long /livez would have waited), the most CPU the process used
 * between two ticks of a 10 ms timer (the longest block's own work, whatever the machine's load)
 * and the RSS at its end.
 */

const [dist = '', configPath = ''] = process.argv.slice(2);
const SETTLE_MS = 1500;

const load = await import(pathToFileURL(join(dist, 'config/load.js')).href);
const { startBackends } = await import(pathToFileURL(join(dist, 'startup/backends.js')).href);
const { silentLogger } = await import(pathToFileURL(join(dist, 'observability/logger.js')).href);

const livez = createServer((_request, response) => response.end('ok'));
await new Promise<void>((resolve) => livez.listen(0, '127.0.0.1', resolve));
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
print({ port: (livez.address() as AddressInfo).port });
// The parent's first polls, before any load begins.
await new Promise((resolve) => setTimeout(resolve, 500));

const delay = monitorEventLoopDelay({ resolution: 10 });
// The CPU time the process used between two ticks of a 10 ms timer, at most their distance: on a
// loaded machine a wall-clock delay is mostly the process waiting for a core, and this is what the
// loop itself spent (worker and GC threads included, so it errs high).
let blockCpuMs = 0;
let lastTick = performance.now();
let lastCpu = process.cpuUsage();
setInterval(() => {
  const now = performance.now();
  const cpu = process.cpuUsage(lastCpu);
  blockCpuMs = Math.max(blockCpuMs, Math.min(now - lastTick, (cpu.user + cpu.system) / 1000));
  lastTick = now;
  lastCpu = process.cpuUsage();
}, 10).unref();
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
const phase = async (name: string, run: () => Promise<void>) => {
  delay.reset();
  blockCpuMs = 0;
  const from = Date.now();
  const started = performance.now();
  await run();
  const ms = performance.now() - started;
  // Discovery's first relists run after start() returns: their work counts too.
  await settle();
  print({
    phase: name,
    from,
    to: Date.now(),
    ms: Math.round(ms),
    maxEventLoopDelayMs: Math.round(delay.max / 1e6),
    maxLoopBlockCpuMs: Math.round(blockCpuMs),
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  });
};

delay.enable();
let running: { apply(config: unknown): Promise<void>; close(): Promise<void> } | undefined;
await phase('start', async () => {
  const config = await load.loadConfigFile(configPath);
  running = await startBackends(config, {
    flags: { metricsMaxAgeMs: 3_600_000 },
    logger: silentLogger(),
    registry: new Registry(),
  });
});
await phase('reload', async () => {
  await running?.apply(await load.loadConfigFile(configPath));
});
await running?.close();
livez.close();
process.exit(0);
