import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startClusterHarness } from '../support/cluster-harness.js';
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
// team-b may read only team-b-* queues: the definition is Forbidden, judged without any backend call.
const CONFIG_ON = `${CONFIG_OFF}
definitions:
  enabled: true
  rules:
    - namespaces: ["team-*"]
      sqs:
        queues: ["\${namespace}-*"]
`;

const cluster = startedForFile(() =>
  startClusterHarness({ config: CONFIG_OFF, extraArgs: ['--leader-elect-lease-duration=3s'] }),
);

async function eventually<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a reload that turns definitions on (the built adapter)', () => {
  it('writes the definitions status after the reload, as the Lease holder', async () => {
    const definition = {
      group: 'hpa-metrics-adapter.io',
      version: 'v1alpha1',
      resource: 'metricdefinitions',
      namespace: 'team-b',
      name: 'jobs',
      generation: 1,
      spec: { sqs: { queueName: 'team-a-jobs' } },
    };
    cluster.kube.watch.put(definition);
    await writeFile(join(cluster.certs.dir, 'config.yaml'), CONFIG_ON);
    cluster.adapter.child.kill('SIGHUP');
    // The Lease is free (3 s), so a running writer takes it and writes within seconds; 30 s is margin for a loaded machine.
    const write = await eventually('a status write for team-b/jobs', 30_000, () =>
      cluster.kube.writes.find((w) => w.endpoint === 'status' && w.name === 'jobs' && w.code === 200),
    );
    assert.equal(write.namespace, 'team-b');
    const stored = cluster.kube.objects.find((o) => o.resource === 'metricdefinitions' && o.name === 'jobs');
    const ready = (stored?.status as { conditions?: { reason?: string }[] } | undefined)?.conditions?.[0];
    assert.equal(ready?.reason, 'Forbidden');
    assert.ok(
      cluster.kube.writes.some((w) => w.endpoint === 'leases' && w.code < 300),
      'the Lease was taken before writing',
    );
  });
});
