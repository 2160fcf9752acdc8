import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DefinitionsBackend } from '../../src/definitions/definitions-backend.js';
import { decodeDefinition } from '../../src/definitions/resource.js';
import { passThroughCache, testBackendContext } from '../support/backend-context.js';
import { definitionsConfigFor, promqlDefinition } from '../support/definitions.js';

/** Bad input of issue 22 item 6 at the definitions backend: count limits, flapping, a namespace emptied. */
const context = testBackendContext();
const config = (maxPerNamespace = 50) =>
  definitionsConfigFor(undefined, {
    policy: { maxPerNamespace },
    configServes: (metric) => metric === 'owned-by-config',
  });
const definition = promqlDefinition;

function backendFor(maxPerNamespace?: number) {
  return new DefinitionsBackend(config(maxPerNamespace), {
    env: { ...context, cacheFor: () => passThroughCache() },
    logger: context.logger,
    settleMs: 20,
  });
}

const reasons = (backend: DefinitionsBackend, namespace: string) =>
  backend.states
    .list()
    .filter((s) => s.namespace === namespace)
    .map((s) => s.reason);

describe('DefinitionsBackend under bad input', () => {
  it('10,000 definitions in one namespace: the oldest 50 are served, the rest Forbidden, another namespace unaffected', async () => {
    const backend = backendFor();
    const many = Array.from({ length: 10_000 }, (_, i) => definition('noisy', `d${i}`, 'sum(up)', i * 1000));
    backend.replaceAll([...many, definition('quiet', 'mine')]);
    await backend.settled();
    const noisy = reasons(backend, 'noisy');
    assert.equal(noisy.filter((r) => r === 'Valid').length, 50);
    assert.equal(noisy.filter((r) => r === 'Forbidden').length, 9950);
    assert.equal(backend.states.get('noisy', 'd0')?.reason, 'Valid');
    assert.equal(backend.states.get('noisy', 'd50')?.reason, 'Forbidden');
    assert.deepEqual(reasons(backend, 'quiet'), ['Valid']);
    assert.ok(backend.external.servesExternal('mine'));
    await backend.close();
  });

  it('a definition flapping 100 times is rebuilt a few times, and ends as its last version says', async () => {
    const backend = backendFor();
    let events = 0;
    backend.states.subscribe(() => events++);
    for (let i = 0; i < 100; i++) {
      backend.upsert(definition('flap', 'f', i % 2 === 0 ? 'sum(up)' : 'sum(rate(', 0));
    }
    backend.upsert(definition('flap', 'f', 'sum(up)'));
    await backend.settled();
    assert.equal(backend.states.get('flap', 'f')?.reason, 'Valid');
    assert.ok(events <= 2, `state changes announced: ${events}`);
    await backend.close();
  });

  it('a namespace deleted with its definitions: each answers 404 and its state is gone, others stay', async () => {
    const backend = backendFor();
    backend.replaceAll([definition('gone', 'a'), definition('gone', 'b'), definition('kept', 'c')]);
    await backend.settled();
    backend.remove('gone', 'a');
    backend.remove('gone', 'b');
    await backend.settled();
    assert.equal(backend.states.get('gone', 'a'), undefined);
    assert.throws(
      () => backend.external.getExternalMetric({ namespace: 'gone', metric: 'a' } as never),
      /not defined in namespace "gone"/,
    );
    assert.ok(backend.external.servesExternal('c'));
    assert.equal(backend.external.servesExternal('a'), false);
    await backend.close();
  });

  it('a name the config serves is Conflict; a second definition of one name in a namespace is Conflict', async () => {
    const backend = backendFor();
    backend.replaceAll([
      definition('ns', 'owned-by-config'),
      definition('ns', 'first', 'sum(up)', 0),
      decodeDefinition({
        metadata: { namespace: 'ns', name: 'second', creationTimestamp: new Date(1000).toISOString() },
        spec: { metric: 'first', prometheus: { query: 'sum(up)' } },
      }),
    ]);
    await backend.settled();
    assert.equal(backend.states.get('ns', 'owned-by-config')?.reason, 'Conflict');
    assert.equal(backend.states.get('ns', 'first')?.reason, 'Valid');
    assert.equal(backend.states.get('ns', 'second')?.reason, 'Conflict');
    await backend.close();
  });
});
