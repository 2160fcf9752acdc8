import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { OFF_THREAD_MIN_BYTES } from '../../src/config/parse-off-thread.js';
import { ConfigError } from '../../src/schema/errors.js';
import { rulesConfig } from '../support/large-configs.js';
import { countingSlice, loopTurnsDuring } from '../support/loop-turns.js';

async function withFile<T>(text: string, use: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'load-off-thread-'));
  try {
    const path = join(dir, 'config.yaml');
    await writeFile(path, text);
    return await use(path);
  } finally {
    await rm(dir, { recursive: true });
  }
}

describe('a large config file is parsed off the event loop', () => {
  it('the event loop keeps turning while a 0.98 MB file is parsed (it did a handful of turns, for the reads)', async () => {
    const turns = await withFile(rulesConfig(980_000), (path) =>
      loopTurnsDuring(async () => {
        const config = await loadConfigFile(path);
        assert.ok((config.prometheus?.externalRules?.length ?? 0) > 5000);
      }),
    );
    // The parse alone is hundreds of milliseconds even on an idle machine; a turn is microseconds.
    assert.ok(turns > 200, `only ${turns} turns of the event loop while the file was parsed`);
  });

  it("refuses invalid YAML in a large file with the parser's own words, the caret snippet included", async () => {
    const padding = `# ${'x'.repeat(200)}\n`.repeat(Math.ceil(OFF_THREAD_MIN_BYTES / 200));
    const refusal = await withFile(`${padding}static:\n  external: []\nstatic: {}\n`, (path) =>
      loadConfigFile(path).then(
        () => assert.fail('accepted'),
        (error: unknown) => error,
      ),
    );
    assert.ok(refusal instanceof ConfigError);
    assert.match(refusal.message, /invalid YAML: Map keys must be unique/);
    assert.match(refusal.message, /\^/);
  });
});

const SERVERS_AND_RULES = `prometheus:
  servers:
  - { name: a, url: "http://127.0.0.1:9/a" }
  - { name: b, url: "http://127.0.0.1:9/b" }
  rules:
  - seriesQuery: 'http_requests_total{pod!=""}'
    resources: { template: <<.Resource>> }
    name: { matches: "^(.*)_total$", as: "\${1}_per_second" }
    metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
  externalRules:
  - { seriesQuery: jobs, server: b, metricsQuery: sum(<<.Series>>), nan: noData }
  - seriesQuery: queue
    seriesFilters: [{ isNot: "^queue_x$" }]
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
`;

describe("a large config file's rules are checked between event-loop turns", () => {
  it('gives the event loop back after each rule of a 0.98 MB file (its schema check was one turn)', async () => {
    const { slice, count } = countingSlice();
    const rules = await withFile(rulesConfig(980_000), async (path) => {
      const config = await loadConfigFile(path, undefined, slice);
      return config.prometheus?.externalRules?.length ?? 0;
    });
    assert.ok(rules > 3000, `${rules} rules`);
    assert.ok(count() >= rules, `the loop was given back ${count()} times for ${rules} rules`);
  });

  for (const [name, text] of [
    ['a 0.98 MB file of rules', rulesConfig(980_000)],
    ['rules on two servers, filters, templates and nan', SERVERS_AND_RULES],
    [
      "prometheus-adapter's layout (rules at the top level)",
      SERVERS_AND_RULES.replace(/^ {2}(rules|externalRules):/gm, '$1:'),
    ],
  ] as const) {
    it(`reads ${name} as the whole schema does`, async () => {
      const loaded = await withFile(text, (path) => loadConfigFile(path));
      assert.deepEqual(loaded, parseConfig(text, 'same'));
    });
  }

  for (const [name, text] of [
    ['a rule without metricsQuery', SERVERS_AND_RULES.replace('metricsQuery: sum(<<.Series>>), ', '')],
    ['a rule naming no server', SERVERS_AND_RULES.replace('server: b', 'server: c')],
    ['rules given twice', `${SERVERS_AND_RULES}rules: []\n`],
  ] as const) {
    it(`refuses ${name} with the whole schema's message`, async () => {
      const refusal = await withFile(text, (path) =>
        loadConfigFile(path).then(
          () => assert.fail('accepted'),
          (error: unknown) => ({ error, path }),
        ),
      );
      assert.ok(refusal.error instanceof ConfigError);
      assert.throws(() => parseConfig(text, refusal.path), { message: refusal.error.message });
    });
  }
});
