import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ConfigReloader } from '../../src/config/reloader.js';
import type { AdapterConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/observability/logger.js';

const config = (value: number) => `static:\n  external:\n    - metric: m\n      series: [{ value: ${value} }]\n`;

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'reloader-'));
  const path = join(dir, 'config.yaml');
  await writeFile(path, config(1));
  const applied: AdapterConfig[] = [];
  const registry = new Registry();
  const reloader = new ConfigReloader({
    path,
    registry,
    logger: silentLogger(),
    debounceMs: 20,
    async apply(next) {
      applied.push(next);
    },
  });
  return { dir, path, applied, registry, reloader };
}

async function metricValue(registry: Registry, name: string, outcome?: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => outcome === undefined || v.labels.outcome === outcome)?.value;
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('config hot reload', () => {
  it('applies a valid new file and counts the success', async () => {
    const { dir, path, applied, registry, reloader } = await setup();
    try {
      await writeFile(path, config(2));
      assert.equal(await reloader.reload(), true);
      assert.equal(applied.at(-1)?.static?.external[0]?.series[0]?.value, 2);
      assert.equal(await metricValue(registry, 'hpa_metrics_adapter_config_reloads_total', 'success'), 1);
      assert.equal(await metricValue(registry, 'hpa_metrics_adapter_config_last_reload_successful'), 1);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('refuses an invalid file, keeps the old config and flags the failure', async () => {
    const { dir, path, applied, registry, reloader } = await setup();
    try {
      await writeFile(path, 'static: [garbage');
      assert.equal(await reloader.reload(), false);
      assert.equal(applied.length, 0, 'nothing was applied');
      assert.equal(await metricValue(registry, 'hpa_metrics_adapter_config_reloads_total', 'failure'), 1);
      assert.equal(await metricValue(registry, 'hpa_metrics_adapter_config_last_reload_successful'), 0);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('refuses a config whose backends fail to start', async () => {
    const { dir, path } = await setup();
    const registry = new Registry();
    const reloader = new ConfigReloader({
      path,
      registry,
      logger: silentLogger(),
      async apply() {
        throw new Error('prometheus URL unreachable');
      },
    });
    try {
      assert.equal(await reloader.reload(), false);
      assert.equal(await metricValue(registry, 'hpa_metrics_adapter_config_reloads_total', 'failure'), 1);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('notices a file replaced the way a ConfigMap volume replaces it (rename over)', async () => {
    const { dir, path, applied, reloader } = await setup();
    reloader.start();
    try {
      const staged = join(dir, '.staged.yaml');
      await writeFile(staged, config(3));
      await rename(staged, path);
      await until(() => applied.length > 0);
      assert.equal(applied.at(-1)?.static?.external[0]?.series[0]?.value, 3);
    } finally {
      reloader.stop();
      await rm(dir, { recursive: true });
    }
  });
});
