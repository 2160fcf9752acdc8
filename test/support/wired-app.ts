import type { Express } from 'express';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { parseFlags } from '../../src/cli/flags.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createAdapterMetrics } from '../../src/observability/metrics.js';
import { createApp } from '../../src/server/app.js';
import { type RunningBackends, startBackends } from '../../src/startup/backends.js';

/**
 * The app over the backends of a config file and command-line flags, wired as main.ts wires
 * them: startBackends with the config's cache section, the app on the same metrics registry, on
 * the real clock. Close `backends` when done.
 */
export async function startWiredApp(
  configYaml: string,
  args: string[],
): Promise<{ app: Express; backends: RunningBackends }> {
  const metrics = createAdapterMetrics(undefined, false);
  const backends = await startBackends(parseConfig(configYaml, 'test config'), {
    flags: parseFlags(args),
    logger: silentLogger(),
    registry: metrics.registry,
  });
  const app = createApp({
    provider: backends.router,
    resources: BUILTIN_RESOURCES,
    metrics,
    logger: silentLogger(),
    readiness: { isReady: () => true },
    version: { version: '0.0.0', gitCommit: 'test' },
  });
  return { app, backends };
}
