import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { DeferredHistogram } from '../../src/observability/deferred-histogram.js';

const CONFIG = {
  name: 'answer_seconds',
  help: 'answers',
  labelNames: ['code'] as const,
  buckets: [0.001, 0.01, 0.1],
};

/** Values below, on, between and above the bounds, for two label sets. */
const OBSERVED: [string, number][] = [
  ['200', 0.0004],
  ['200', 0.001],
  ['200', 0.0011],
  ['200', 0.05],
  ['200', 0.1],
  ['200', 7],
  ['404', 0.002],
];

function pair() {
  const plainRegistry = new Registry();
  const plain = new Histogram({ ...CONFIG, labelNames: [...CONFIG.labelNames], registers: [plainRegistry] });
  const deferredRegistry = new Registry();
  const deferred = new DeferredHistogram({
    ...CONFIG,
    labelNames: [...CONFIG.labelNames],
    registers: [deferredRegistry],
  });
  return { plain, plainRegistry, deferred, deferredRegistry };
}

describe('DeferredHistogram', () => {
  it("reports its handles' observations exactly as prom-client's own Histogram reports the same observations", async () => {
    const { plain, plainRegistry, deferred, deferredRegistry } = pair();
    for (const [code, seconds] of OBSERVED) {
      plain.observe({ code }, seconds);
      deferred.series({ code }).observe(seconds);
    }
    assert.equal(await deferredRegistry.metrics(), await plainRegistry.metrics());
    assert.deepEqual(await deferred.histogram.get(), await plain.get());
    assert.match(await deferredRegistry.metrics(), /^answer_seconds_bucket\{le="0.01",code="200"\} 3$/m);
  });

  it('hands out one handle per label set, and a reset empties it but keeps it counting', async () => {
    const { plain, plainRegistry, deferred, deferredRegistry } = pair();
    const ok = deferred.series({ code: '200' });
    assert.equal(deferred.series({ code: '200' }), ok);
    ok.observe(0.5);
    deferredRegistry.resetMetrics();
    assert.doesNotMatch(await deferredRegistry.metrics(), /_count\{code="200"\} [1-9]/);
    ok.observe(0.05);
    plain.observe({ code: '200' }, 0.05);
    assert.equal(await deferredRegistry.metrics(), await plainRegistry.metrics());
  });

  it('refuses a value that is not a finite number, as prom-client does', () => {
    const { deferred } = pair();
    assert.throws(() => deferred.series({ code: '200' }).observe(Number.NaN), TypeError);
  });
});
