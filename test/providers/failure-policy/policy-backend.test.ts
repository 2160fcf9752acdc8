import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../../src/api/errors.js';
import { type LabelSelector, parseSelector } from '../../../src/api/selector.js';
import { resolveFailurePolicy } from '../../../src/providers/failure-policy/config.js';
import { withFailurePolicy } from '../../../src/providers/failure-policy/policy-backend.js';
import type { ExternalSample, MetricsBackend } from '../../../src/providers/provider.js';
import { FakeBackend, makeCache, metricValue, patient, TEST_SETTINGS } from '../../cache/fakes.js';
import { capturingLogger } from '../../support/capturing-logger.js';

/** A selector that counts how often its text is asked for: naming a series asks it. */
function countingSelector(text: string): { selector: LabelSelector; named: () => number } {
  const parsed = parseSelector(text);
  let named = 0;
  const selector: LabelSelector = Object.create(parsed, {
    toString: {
      value: () => {
        named++;
        return parsed.toString();
      },
    },
  });
  return { selector, named: () => named };
}

describe('the failure-policy wrapper on a cached hit', () => {
  it('names no series while none is served a fallback, and still names it when one is', async () => {
    const { cache, clock, registry } = makeCache();
    const { logger, lines } = capturingLogger();
    const answers = new FakeBackend<ExternalSample[]>(() => [
      { labels: { queue: 'jobs' }, value: 42, timestamp: new Date(clock.now()) },
    ]);
    const backend: MetricsBackend = {
      name: 'fake',
      external: {
        listExternalMetrics: () => [{ metric: 'queue_depth' }],
        servesExternal: (metric) => metric === 'queue_depth',
        // The key is fixed here: only the wrapper asks the selector for its text.
        getExternalMetric: (request) => cache.fetch('queue_depth jobs', answers.load, request),
      },
    };
    const wrapped = withFailurePolicy(backend, () => resolveFailurePolicy(undefined, undefined), {
      registry,
      logger,
      now: () => new Date(clock.now()),
    });
    const { selector, named } = countingSelector('queue=jobs');
    const ask = () =>
      wrapped.external?.getExternalMetric({
        namespace: 'default',
        metric: 'queue_depth',
        metricSelector: selector,
        deadline: patient().deadline,
      });

    await ask();
    await ask();
    await ask();
    assert.equal(answers.calls, 1, 'one load, then hits');
    assert.equal(named(), 0);

    // Past the TTL with the backend down, the last good value is served: counted and logged by series.
    clock.advance(TEST_SETTINGS.ttlMs + 1);
    answers.fails(ApiError.unavailable('backend down'));
    const stale = await ask();
    assert.equal(stale?.[0]?.value, 42);
    assert.equal(
      await metricValue(registry, 'hpa_metrics_adapter_fallbacks_total', {
        backend: 'fake',
        metric: 'queue_depth',
        reason: 'last_good',
      }),
      1,
    );
    assert.deepEqual(
      lines.filter((line) => line.reason === 'last_good').map((line) => line.series),
      ['default/queue_depth{queue=jobs}'],
    );
  });
});
