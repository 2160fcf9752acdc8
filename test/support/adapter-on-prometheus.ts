import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdapterProcess, startAdapter } from './adapter-process.js';

/** The built adapter over one Prometheus URL, with a config file of its own in a temp dir. */
export interface AdapterOnPrometheus {
  adapter: AdapterProcess;
  /** Stops the adapter and removes its config dir. */
  close(): Promise<void>;
}

export interface AdapterOnPrometheusOptions {
  config: string;
  prometheusUrl: string;
  /** More flags, after the common ones. */
  args?: string[];
  env?: Record<string, string | undefined>;
}

/**
 * No relist during a test (10 m): every connection to Prometheus then comes from a metric read,
 * which is what fault tests count.
 */
export async function startAdapterOnPrometheus(options: AdapterOnPrometheusOptions): Promise<AdapterOnPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'adapter-on-prometheus-'));
  const removeDir = () => rm(dir, { recursive: true, force: true });
  try {
    const configPath = join(dir, 'config.yaml');
    await writeFile(configPath, options.config);
    const adapter = await startAdapter({
      args: [
        '--secure-port=0',
        `--config=${configPath}`,
        `--prometheus-url=${options.prometheusUrl}`,
        '--metrics-relist-interval=10m',
        ...(options.args ?? []),
      ],
      env: options.env,
    });
    return {
      adapter,
      async close() {
        await adapter.stop();
        await removeDir();
      },
    };
  } catch (error) {
    await removeDir();
    throw error;
  }
}
