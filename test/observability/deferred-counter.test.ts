import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { DeferredCounter } from '../../src/observability/deferred-counter.js';

describe('DeferredCounter', () => {
  it('adds what its series counted at each collection, once, with equal label sets sharing a series', async () => {
    const registry = new Registry();
    const deferred = new DeferredCounter({
      name: 'answers_total',
      help: 'answers',
      labelNames: ['code'],
      registers: [registry],
    });
    const ok = deferred.series({ code: '200' });
    assert.equal(deferred.series({ code: '200' }), ok);
    const missing = deferred.series({ code: '404' });
    ok.count += 2;
    missing.count++;
    assert.match(await registry.metrics(), /^answers_total\{code="200"\} 2$/m);
    ok.count++;
    const values = (await deferred.counter.get()).values.map((v) => [v.labels.code, v.value]);
    assert.deepEqual(values, [
      ['200', 3],
      ['404', 1],
    ]);
    assert.match(await registry.metrics(), /^answers_total\{code="200"\} 3$/m);
  });
});
