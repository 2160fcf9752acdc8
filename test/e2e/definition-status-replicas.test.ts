import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AdapterProcess, startAdapter } from '../support/adapter-process.js';
import { type CertDir, createCertDir, issueServingCert } from '../support/certs.js';
import { aggregatedAdapterArgs } from '../support/cluster-harness.js';
import {
  FORBIDDEN_QUEUE_POLICY,
  METRIC_DEFINITIONS_REF,
  putForbiddenDefinition,
} from '../support/forbidden-definition.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../support/kube-apiserver-double.js';

/**
 * Two adapter replicas (dist/main.js) against one kube-apiserver: exactly one writes definition
 * status, the holder of the Lease; killed without a chance to release it (SIGKILL), the other
 * takes the Lease once it has not been renewed for the Lease duration and writes.
 */

const LEASE_SECONDS = 3;
const DEFINITION = { ...METRIC_DEFINITIONS_REF, namespace: 'team-b', name: 'jobs' };

/** Polls `check` until it returns a value, for at most `timeoutMs`. */
async function eventually<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('definition status with two adapter replicas and a Lease', () => {
  let kube: KubeApiserverDouble;
  let certs: CertDir;
  const replicas = new Map<string, AdapterProcess>();

  before(async () => {
    certs = await createCertDir('e2e-definition-status-');
    kube = await startKubeApiserverDouble({ certDir: certs });
    const frontProxyCa = await certs.createCa('front-proxy-ca');
    const servingCa = await certs.createCa('adapter-serving-ca');
    const serving = await issueServingCert(servingCa);
    const configPath = join(certs.dir, 'config.yaml');
    await writeFile(configPath, FORBIDDEN_QUEUE_POLICY);
    putForbiddenDefinition(kube, 'jobs');
    for (const name of ['a', 'b']) {
      const token = `replica-${name}`;
      kube.clientTokens.add(token);
      const kubeconfig = await kube.writeKubeconfig(token, `${name}.json`);
      const adapter = await startAdapter({
        args: [
          ...aggregatedAdapterArgs({ configPath, serving, frontProxyCa, kubeconfigPath: kubeconfig }),
          '--hpa-refresh=off',
          '--leader-elect-resource-namespace=hpa-metrics-adapter',
          `--leader-elect-lease-duration=${LEASE_SECONDS}s`,
        ],
        timeoutMs: 60_000,
      });
      replicas.set(token, adapter);
    }
  });
  after(async () => {
    for (const adapter of replicas.values()) await adapter.stop('SIGKILL');
    await kube.close();
    await certs.cleanup();
  });

  const definition = () => kube.objects.find((o) => o.name === DEFINITION.name && o.namespace === DEFINITION.namespace);
  const statusOf = () =>
    definition()?.status as { observedGeneration?: number; conditions?: { reason: string }[] } | undefined;
  const statusWriters = () =>
    new Set(kube.writes.filter((w) => w.endpoint === 'status' && w.code < 300).map((w) => w.token));

  it('exactly one replica writes status; killed, the other takes the Lease and writes', async () => {
    const first = await eventually('a status written', 30_000, () => statusOf()?.observedGeneration === 1 || undefined);
    assert.ok(first);
    assert.equal(statusOf()?.conditions?.[0]?.reason, 'Forbidden');
    // Both replicas have judged the definition and both have tried the Lease by now (every 0.4 s).
    await new Promise((r) => setTimeout(r, 2 * LEASE_SECONDS * 1000));
    const writers = [...statusWriters()];
    assert.equal(writers.length, 1, `status written by ${writers.join(', ')}`);
    assert.equal(
      kube.writes.filter((w) => w.endpoint === 'status' && w.code < 300).length,
      1,
      'nothing changed after the first write: no second write',
    );
    const [holder = ''] = writers;
    const standby = [...replicas.keys()].find((token) => token !== holder) ?? '';
    assert.deepEqual(
      kube.reads.filter((r) => r.endpoint === 'status' && r.token === standby),
      [],
      'the standby does not even read the status',
    );

    const killedAt = Date.now();
    await replicas.get(holder)?.stop('SIGKILL');
    replicas.delete(holder);
    const current = definition();
    assert.ok(current);
    kube.watch.put({ ...current, generation: 2, spec: { sqs: { queueName: 'team-c-jobs' } } });

    await eventually('the standby writes generation 2', (LEASE_SECONDS + 20) * 1000, () =>
      statusOf()?.observedGeneration === 2 ? true : undefined,
    );
    const tookMs = Date.now() - killedAt;
    assert.deepEqual([...statusWriters()].sort(), [holder, standby].sort());
    const last = kube.writes.filter((w) => w.endpoint === 'status' && w.code < 300).at(-1);
    assert.equal(last?.token, standby);
    const leaseWrites = kube.writes.filter((w) => w.endpoint === 'leases' && w.code < 300 && w.token === standby);
    assert.ok(leaseWrites.length > 0, 'the standby wrote the Lease');
    process.stdout.write(
      `# takeover: status written by the standby ${tookMs} ms after SIGKILL (Lease ${LEASE_SECONDS} s)\n`,
    );
  });
});
