import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSelector } from '../../src/api/selector.js';
import { DefinitionsBackend } from '../../src/definitions/definitions-backend.js';
import { decodeDefinition } from '../../src/definitions/resource.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import { passThroughCache, testBackendContext } from '../support/backend-context.js';
import { definitionsConfigFor } from '../support/definitions.js';

/** What a team reads in a failed read of its definition (the HPA's event, status.lastError): its own names. */
describe('errors of a definition name its metric as the team wrote it', () => {
  it('a CloudWatch dimension that needs a selector label names team-a/backlog, not the internal key', async () => {
    const context = testBackendContext();
    const backend = new DefinitionsBackend(
      definitionsConfigFor(undefined, {
        policy: { rules: [{ namespaces: ['*'], cloudwatch: { metricNamespaces: ['Team/team-a'] } }] },
      }),
      { env: { ...context, cacheFor: () => passThroughCache() }, logger: context.logger, settleMs: 1 },
    );
    backend.upsert(
      decodeDefinition({
        metadata: { namespace: 'team-a', name: 'backlog', generation: 1 },
        spec: {
          cloudwatch: {
            queries: [
              {
                id: 'm1',
                metricStat: {
                  namespace: 'Team/team-a',
                  metricName: 'Backlog',
                  dimensions: [{ name: 'Queue', value: `\${selector.queue}` }],
                  stat: 'Average',
                },
              },
            ],
          },
        },
      }),
    );
    await backend.settled();
    assert.equal(
      backend.states.get('team-a', 'backlog')?.reason,
      'Valid',
      backend.states.get('team-a', 'backlog')?.message,
    );
    await assert.rejects(
      backend.external.getExternalMetric({
        namespace: 'team-a',
        metric: 'backlog',
        metricSelector: parseSelector(''),
        deadline: deadlineOf(AbortSignal.timeout(30_000)),
      }),
      (error: Error) => {
        assert.match(error.message, /external metric "team-a\/backlog" needs the label selector queue=<value>/);
        assert.doesNotMatch(error.message, /team-a:backlog/);
        return true;
      },
    );
    assert.doesNotMatch(backend.states.get('team-a', 'backlog')?.lastError ?? '', /team-a:backlog/);
    await backend.close();
  });
});
