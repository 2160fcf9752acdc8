import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import { parseSelector } from '../../src/api/selector.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import type { ExternalMetricRequest, MetricsBackend } from '../../src/providers/provider.js';
import { BackendRouter } from '../../src/providers/router.js';
import { createStaticBackend } from '../../src/providers/static/static-backend.js';
import { capturingLogger } from '../support/capturing-logger.js';

/** An external-only backend answering its name as the value, counting how often its list is read. */
function backend(name: string, metrics: string[]) {
  const counts = { lists: 0, serves: 0 };
  const value: MetricsBackend = {
    name,
    external: {
      async getExternalMetric() {
        return [{ labels: { from: name }, value: 1, timestamp: new Date(0) }];
      },
      listExternalMetrics: () => {
        counts.lists++;
        return metrics.map((metric) => ({ metric }));
      },
      servesExternal: (metric) => {
        counts.serves++;
        return metrics.includes(metric);
      },
    },
  };
  return { backend: value, counts };
}

function request(metric: string): ExternalMetricRequest {
  return {
    namespace: 'default',
    metric,
    metricSelector: parseSelector(''),
    deadline: deadlineOf(new AbortController().signal),
  };
}

const servedBy = async (router: BackendRouter, metric: string) =>
  (await router.getExternalMetric(request(metric)))[0]?.labels.from;

describe('BackendRouter', () => {
  it('sends a request to the first backend that serves the metric, in the order it was given', async () => {
    const a = backend('a', ['shared', 'only-a']);
    const b = backend('b', ['shared', 'only-b']);
    const router = new BackendRouter([a.backend, b.backend]);
    assert.equal(await servedBy(router, 'shared'), 'a');
    assert.equal(await servedBy(router, 'only-b'), 'b');
    assert.equal(router.servesExternal('only-a'), true);
    assert.equal(router.servesExternal('none'), false);
  });

  it('asks each backend through servesExternal, never by reading its metric list per request', async () => {
    const a = backend('a', ['m']);
    const router = new BackendRouter([a.backend]);
    const listsAtLoad = a.counts.lists;
    for (let i = 0; i < 5; i++) await servedBy(router, 'm');
    assert.equal(a.counts.lists, listsAtLoad);
    assert.equal(a.counts.serves, 5);
  });

  it('answers NotFound, naming the metric, when no backend serves it', async () => {
    const router = new BackendRouter([backend('a', ['m']).backend]);
    await assert.rejects(
      async () => router.getExternalMetric(request('missing')),
      (error: unknown) =>
        error instanceof ApiError && error.reason === 'NotFound' && /external metric "missing"/.test(error.message),
    );
  });

  it('logs metrics two backends announce, naming who serves and who is shadowed, at load and on reload', () => {
    const { logger, lines } = capturingLogger();
    const router = new BackendRouter([backend('a', ['shared', 'x']).backend, backend('b', ['shared']).backend], logger);
    const warned = () =>
      lines.filter(
        (l) => l.msg === 'metric announced by more than one backend: the first serves it, the others are never asked',
      );
    assert.deepEqual(
      warned().map((l) => [l.metric, l.servedBy, l.shadowed]),
      [['external shared', 'a', ['b']]],
    );
    router.replaceBackends([backend('c', ['x']).backend, backend('d', ['y']).backend]);
    assert.equal(warned().length, 1, 'a reload without collisions logs none');
    router.replaceBackends([backend('c', ['x']).backend, backend('d', ['x']).backend]);
    assert.deepEqual(
      warned().map((l) => [l.metric, l.servedBy]),
      [
        ['external shared', 'a'],
        ['external x', 'c'],
      ],
    );
  });

  it('routes custom metrics by resource and name through the static backend`s own map', async () => {
    const fixed = createStaticBackend(
      {
        custom: [
          {
            resource: 'pods',
            metric: 'load',
            windowSeconds: 60,
            objects: [{ name: 'p', namespace: 'n', value: 2, labels: {} }],
          },
        ],
        external: [],
      },
      { now: () => new Date(0) },
    );
    const router = new BackendRouter([fixed]);
    assert.equal(router.servesCustom({ group: '', resource: 'pods' }, 'load'), true);
    assert.equal(router.servesCustom({ group: 'apps', resource: 'deployments' }, 'load'), false);
    const sample = await router.getMetricByName({
      object: { resource: { group: '', resource: 'pods' }, namespace: 'n', name: 'p' },
      metric: 'load',
      metricSelector: parseSelector(''),
      deadline: deadlineOf(new AbortController().signal),
    });
    assert.equal(sample.value, 2);
  });
});
