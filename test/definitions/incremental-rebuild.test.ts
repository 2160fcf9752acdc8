import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseSelector } from '../../src/api/selector.js';
import { DefinitionsBackend } from '../../src/definitions/definitions-backend.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import { passThroughCache, testBackendContext } from '../support/backend-context.js';
import { definitionsConfigFor, promqlDefinition } from '../support/definitions.js';
import { type MisbehavingPrometheus, startMisbehavingPrometheus } from '../support/misbehaving-prometheus.js';

/**
 * A change to one definition rebuilds only what it is served by (issue 22: with 1,000 definitions
 * every change rebuilt them all): the other namespaces' backends, their connections, the reads in
 * flight through them stay as they were.
 */
describe('DefinitionsBackend rebuilds only what changed', () => {
  let prometheus: MisbehavingPrometheus;
  before(async () => {
    prometheus = await startMisbehavingPrometheus();
  });
  after(() => prometheus.close());

  const backendOn = (url: string) => {
    const context = testBackendContext();
    // The read held back waits out two rebuilds: 1 s was too little on a loaded machine.
    return new DefinitionsBackend(definitionsConfigFor(url, { timeoutMs: 60_000 }), {
      env: { ...context, cacheFor: () => passThroughCache() },
      logger: context.logger,
      settleMs: 1,
    });
  };
  const read = (backend: DefinitionsBackend, namespace: string, metric: string) =>
    backend.external.getExternalMetric({
      namespace,
      metric,
      metricSelector: parseSelector(''),
      deadline: deadlineOf(AbortSignal.timeout(60_000)),
    });

  it("a read in flight in one namespace is answered while another namespace's definitions change", async () => {
    const backend = backendOn(prometheus.url);
    backend.replaceAll([promqlDefinition('team-a', 'jobs'), promqlDefinition('team-b', 'jobs')]);
    await backend.settled();
    const release = prometheus.hold();
    const inFlight = read(backend, 'team-a', 'jobs');
    while (prometheus.stats.peakConcurrentQueries === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    backend.upsert(promqlDefinition('team-b', 'jobs', 'sum(up) * 2'));
    backend.upsert(promqlDefinition('team-b', 'other'));
    await backend.settled();
    release();
    const samples = await inFlight;
    assert.deepEqual(
      samples.map((s) => s.value),
      [42],
    );
    assert.equal(backend.states.get('team-a', 'jobs')?.reason, 'Valid');
    await backend.close();
  });
});
