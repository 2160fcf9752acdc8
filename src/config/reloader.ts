import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../observability/logger.js';
import { loadConfigFile } from './load.js';
import type { AdapterConfig } from './schema.js';

export interface ConfigReloaderOptions {
  path: string;
  /** Larger files are refused unread (--config-max-bytes). */
  maxBytes?: number;
  registry: Registry;
  logger: Logger;
  /** Builds and starts everything the new config needs, then swaps it in. Throws to refuse it. */
  apply(config: AdapterConfig): Promise<void>;
  /** Coalesces the bursts of events an editor or a ConfigMap update produces. */
  debounceMs?: number;
}

/**
 * Hot reload: the config file is watched, and SIGHUP reloads too. A file that fails to parse,
 * validate or start is logged and counted, and the running config keeps serving.
 */
export class ConfigReloader {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> = Promise.resolve(true);
  private readonly reloads: Counter<'outcome'>;
  private readonly lastSuccess: Gauge;

  constructor(private readonly options: ConfigReloaderOptions) {
    this.reloads = new Counter({
      name: 'hpa_metrics_adapter_config_reloads_total',
      help: 'Config reloads attempted, by outcome (success, failure).',
      labelNames: ['outcome'],
      registers: [options.registry],
    });
    this.lastSuccess = new Gauge({
      name: 'hpa_metrics_adapter_config_last_reload_successful',
      help: '1 when the last config reload succeeded (or none was tried), 0 when the running config is older than the file.',
      registers: [options.registry],
    });
    this.lastSuccess.set(1);
  }

  start(): void {
    // Watch the directory: ConfigMap volumes replace the file by swapping a symlink, which a
    // watch on the file itself would miss after the first update.
    const file = basename(this.options.path);
    this.watcher = watch(dirname(this.options.path), (_event, name) => {
      if (name === null || name === file || name === '..data') this.schedule();
    });
    this.watcher.on('error', (error) =>
      this.options.logger.warn({ err: error.message }, 'config watch failed; SIGHUP still reloads'),
    );
  }

  schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.options.debounceMs ?? 250);
  }

  /** Reloads now (one at a time); resolves true when the new config is serving. */
  reload(): Promise<boolean> {
    this.running = this.running.then(() => this.reloadOnce());
    return this.running;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  private async reloadOnce(): Promise<boolean> {
    const { path, logger } = this.options;
    try {
      const config = await loadConfigFile(path, this.options.maxBytes);
      await this.options.apply(config);
      this.reloads.inc({ outcome: 'success' });
      this.lastSuccess.set(1);
      logger.info({ path }, 'config reloaded');
      return true;
    } catch (error) {
      this.reloads.inc({ outcome: 'failure' });
      this.lastSuccess.set(0);
      logger.error({ path, err: (error as Error).message }, 'config reload refused; the previous config keeps serving');
      return false;
    }
  }
}
