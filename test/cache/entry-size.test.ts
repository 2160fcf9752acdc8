import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ENTRY_OVERHEAD_BYTES, entryBytes, estimateValueBytes } from '../../src/cache/entry-size.js';
import type { CacheHeapReport } from '../support/cache-heap-fill.js';
import { ANSWER_SHAPES } from '../support/prometheus-answers.js';

/**
 * Compiled (npm test's unit runs, from .cache/js/), the child runs the JavaScript beside this file
 * too: through tsx its start cost about 1.5 more CPU seconds per Node (3.5 against 2.0 for one shape).
 */
const COMPILED = import.meta.url.endsWith('.js');
const FILL = fileURLToPath(new URL(`../support/cache-heap-fill.${COMPILED ? 'js' : 'ts'}`, import.meta.url));
const LOADER = COMPILED ? [] : ['--import', 'tsx'];

function sample(n: number, pod = `web-${n}`) {
  return { labels: { pod }, value: n + 0.5, timestamp: new Date(n) };
}

describe('the bytes a cache entry is charged', () => {
  // 20,000 entries of each shape with full collections between: about 10 CPU seconds, which took
  // past the runner's 120 s on a machine loaded twenty times over.
  const timeout = 600_000;
  it('tracks the heap a full cache of Prometheus answers really grows by, never far under it', {
    timeout,
  }, async () => {
    const shapes = Object.keys(ANSWER_SHAPES);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', ...LOADER, FILL, '20000', ...shapes],
      { maxBuffer: 1024 * 1024 },
    );
    const reports = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as CacheHeapReport);

    assert.deepEqual(
      reports.map((r) => r.shapes.join(',')),
      shapes,
    );
    for (const report of reports) {
      const heapGrowth = report.after.heapUsed - report.before.heapUsed;
      const ratio = report.chargedBytes / heapGrowth;
      const detail = `${report.shapes}: charged ${Math.round(report.chargedBytes / report.entries)} bytes per entry, heap grew ${Math.round(heapGrowth / report.entries)}`;
      assert.ok(ratio >= 0.9 && ratio <= 1.25, detail);
    }
  });

  it('grows with the key', () => {
    const lengths = [0, 1, 50, 51, 100, 500, 5_000];
    const charged = lengths.map((length) => entryBytes('k'.repeat(length), 100));
    for (let i = 1; i < charged.length; i++) assert.ok((charged[i] ?? 0) >= (charged[i - 1] ?? 0), `${charged}`);
    assert.ok((charged.at(-1) ?? 0) - (charged[0] ?? 0) >= 5_000);
  });

  it('grows with the value, and charges the fixed overhead for an empty one', () => {
    const sizes = [0, 1, 100, 101, 10_000];
    const charged = sizes.map((bytes) => entryBytes('key', bytes));
    for (let i = 1; i < charged.length; i++) assert.ok((charged[i] ?? 0) > (charged[i - 1] ?? 0), `${charged}`);
    assert.ok((charged[0] ?? 0) > ENTRY_OVERHEAD_BYTES);
  });

  it('charges a key of characters beyond Latin-1 two bytes each', () => {
    assert.ok(entryBytes('ключ'.repeat(100), 0) - entryBytes('key!'.repeat(100), 0) >= 390);
  });
});

describe('estimateValueBytes', () => {
  it('grows by the same bytes for every further sample', () => {
    const one = estimateValueBytes([sample(1)]);
    const perSample = estimateValueBytes([sample(1), sample(2)]) - one;
    const hundred = estimateValueBytes(Array.from({ length: 100 }, (_, n) => sample(n + 1)));
    assert.ok(perSample > 0);
    assert.equal(hundred, one + 99 * perSample);
  });

  it('grows with the length of label values, about one byte a character', () => {
    const short = estimateValueBytes([sample(1, 'web-1')]);
    const long = estimateValueBytes([sample(1, `web-1-${'x'.repeat(994)}`)]);
    assert.ok(long - short >= 990 && long - short <= 1_010, `${long} - ${short}`);
  });

  it('counts an object reached twice once, so a cycle ends', () => {
    const shared = sample(1);
    assert.ok(estimateValueBytes([shared, shared]) < 2 * estimateValueBytes([shared]));
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    assert.ok(estimateValueBytes(cyclic) > 0);
  });

  it('charges values JSON cannot express', () => {
    assert.ok(estimateValueBytes(10n) > 0);
    assert.ok(estimateValueBytes({ at: new Date(0) }) > estimateValueBytes({ at: 0 }));
  });

  it('charges a Buffer (an upstream answer kept as it came) its bytes, without walking them', () => {
    const body = Buffer.alloc(1024 * 1024);
    const bytes = estimateValueBytes({ status: 200, body });
    assert.ok(bytes > body.length && bytes < body.length + 1024, `${bytes} estimated`);
  });
});
