import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_RESOURCES } from '../../../src/api/builtin-resources.js';
import { parseConfig } from '../../../src/config/load.js';
import { compileRules } from '../../../src/providers/prometheus/backend.js';
import { createPrometheusClient } from '../../../src/providers/prometheus/client.js';
import { ruleSources, ruleSourcesInTurns } from '../../../src/providers/prometheus/rule-sources.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import { serversConfig } from '../../support/large-configs.js';
import { countingSlice } from '../../support/loop-turns.js';

describe("a config's rule sources (a client per server and tenant)", () => {
  it('are built for 500 servers giving the event loop back after each client, as built at once', async () => {
    const settings = resolvePrometheusSettings(parseConfig(serversConfig(500), 'servers').prometheus, {});
    assert.ok(settings);
    const rules = compileRules(settings, BUILTIN_RESOURCES);
    const { slice, count } = countingSlice();
    const built: string[] = [];
    const inTurns = await ruleSourcesInTurns(
      settings,
      rules,
      (server, options) => {
        built.push(server.name);
        return createPrometheusClient(options);
      },
      slice,
    );
    const atOnce = ruleSources(settings, rules, (_server, options) => createPrometheusClient(options));
    try {
      assert.equal(built.length, 500);
      assert.ok(count() >= built.length, `the loop was given back ${count()} times for ${built.length} clients`);
      const described = (sources: typeof inTurns) =>
        rules.map((rule) => [sources.of(rule).server.name, sources.of(rule).client.url, sources.seriesKey(rule)]);
      assert.deepEqual(described(inTurns), described(atOnce));
      assert.deepEqual(
        inTurns.all.map((s) => s.key),
        atOnce.all.map((s) => s.key),
      );
    } finally {
      for (const source of [...inTurns.all, ...atOnce.all]) source.client.close();
    }
  });
});
