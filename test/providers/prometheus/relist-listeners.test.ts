import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { createPrometheusBackend } from '../../../src/providers/prometheus/backend.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import { testBackendContext } from '../../support/backend-context.js';
import { alignedQueryTime, gauge, type PrometheusServer, startPrometheus } from '../../support/prometheus-server.js';

/**
 * A relist runs every distinct seriesQuery at once, each call listening on the backend's stop
 * signal: with more than ten (a common prometheus-adapter file), Node warned "Possible
 * EventTarget memory leak detected" at every start, though every listener is removed.
 */
describe('a relist of many seriesQuery', () => {
  const T = alignedQueryTime();
  let prometheus: PrometheusServer;
  before(async () => {
    prometheus = await startPrometheus({ series: [gauge('jobs', { queue: 'a' }, 1, { end: T, seconds: 600 })] });
  });
  after(async () => {
    await prometheus?.stop();
  });

  it('warns of no listener leak', async () => {
    const rules = Array.from(
      { length: 15 },
      (_, i) =>
        `  - seriesQuery: '{__name__="jobs",queue!="x${i}"}'\n    name: { as: jobs_${i} }\n    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)`,
    );
    const yaml = `prometheus:\n  url: ${prometheus.url}\n  externalRules:\n${rules.join('\n')}\n`;
    const settings = resolvePrometheusSettings(parseConfig(yaml, 't.yaml').prometheus, { metricsMaxAgeMs: 3600_000 });
    assert.ok(settings);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const backend = await createPrometheusBackend(settings, testBackendContext({ now: () => new Date(T * 1000) }));
    try {
      await backend.start?.();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(backend.external.listExternalMetrics().length, 15, 'every rule relisted');
      assert.deepEqual(
        warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
        [],
      );
    } finally {
      process.off('warning', onWarning);
      await backend.close?.();
    }
  });
});
