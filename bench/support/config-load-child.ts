import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';

/**
 * One build's config load, for bench/config-load.ts: `dist/config/load.js` and
 * `dist/startup/backends.js` of the build in argv[2] read the config file argv[3] as the adapter
 * does at start, then once more as a reload. Printed as one JSON line: the longest event-loop
 * delay of each phase (perf_hooks, 10 ms resolution), which is how long /livez would have waited.
 */

const [dist = '', configPath = ''] = process.argv.slice(2);
const SETTLE_MS = 1500;

const load = await import(pathToFileURL(join(dist, 'config/load.js')).href);
const { startBackends } = await import(pathToFileURL(join(dist, 'startup/backends.js')).href);
const { silentLogger } = await import(pathToFileURL(join(dist, 'observability/logger.js')).href);

const delay = monitorEventLoopDelay({ resolution: 10 });
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
const phase = async (run: () => Promise<void>) => {
  delay.reset();
  const started = performance.now();
  await run();
  const ms = performance.now() - started;
  // Discovery's first relists run after start() returns: their work counts too.
  await settle();
  return { ms: Math.round(ms), maxEventLoopDelayMs: Math.round(delay.max / 1e6) };
};

delay.enable();
let running: { apply(config: unknown): Promise<void>; close(): Promise<void> } | undefined;
const start = await phase(async () => {
  const config = await load.loadConfigFile(configPath);
  running = await startBackends(config, {
    flags: { metricsMaxAgeMs: 3_600_000 },
    logger: silentLogger(),
    registry: new Registry(),
  });
});
const reload = await phase(async () => {
  await running?.apply(await load.loadConfigFile(configPath));
});
await running?.close();
process.stdout.write(`${JSON.stringify({ start, reload })}\n`);
process.exit(0);
