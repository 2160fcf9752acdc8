import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { eventually } from '../support/adapter-client.js';
import { startClusterHarness } from '../support/cluster-harness.js';
import { FORBIDDEN_QUEUE_POLICY, putForbiddenDefinition, statusWritten } from '../support/forbidden-definition.js';
import { startedForFile } from '../support/started-for-file.js';

/**
 * A config reload that turns definitions on starts all of them in the running adapter: the watch
 * and the status writer (with its Lease), not only the watch until the next restart.
 */

const CONFIG_OFF = `
static:
  external:
  - metric: config-owned
    series: [{ value: 1 }]
`;

const cluster = startedForFile(() =>
  startClusterHarness({ config: CONFIG_OFF, extraArgs: ['--leader-elect-lease-duration=3s'] }),
);

describe('a reload that turns definitions on (the built adapter)', () => {
  it('writes the definitions status after the reload, as the Lease holder', async () => {
    putForbiddenDefinition(cluster.kube, 'jobs');
    await writeFile(join(cluster.certs.dir, 'config.yaml'), `${CONFIG_OFF}${FORBIDDEN_QUEUE_POLICY}`);
    cluster.adapter.child.kill('SIGHUP');
    // The Lease is free (3 s), so a running writer takes it and writes within seconds; 30 s is margin for a loaded machine.
    await eventually('a status write for team-b/jobs', async () => statusWritten(cluster.kube, 'jobs'), 30_000, 50);
    const stored = cluster.kube.objects.find((o) => o.resource === 'metricdefinitions' && o.name === 'jobs');
    const ready = (stored?.status as { conditions?: { reason?: string }[] } | undefined)?.conditions?.[0];
    assert.equal(ready?.reason, 'Forbidden');
    assert.ok(
      cluster.kube.writes.some((w) => w.endpoint === 'leases' && w.code < 300),
      'the Lease was taken before writing',
    );
  });
});
